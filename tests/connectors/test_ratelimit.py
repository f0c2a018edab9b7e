from __future__ import annotations

from carbon254.connectors.ratelimit import RateBudget, TokenBucket, bucket_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_burst_then_steady_rate():
    clock = FakeClock()
    bucket = TokenBucket(RateBudget(6, 60), clock=clock, sleep=clock.sleep)
    for _ in range(6):  # a full bucket: six requests at once
        assert bucket.acquire() == 0.0
    assert bucket.acquire() == 10.0  # then one every 10 s
    assert bucket.acquire() == 10.0
    assert clock.now == 20.0


def test_idle_time_refills_up_to_capacity_only():
    clock = FakeClock()
    bucket = TokenBucket(RateBudget(2, 1, burst=2), clock=clock, sleep=clock.sleep)
    bucket.acquire(), bucket.acquire()
    clock.now += 100.0
    assert [bucket.acquire() for _ in range(2)] == [0.0, 0.0]
    assert bucket.acquire() == 0.5


def test_one_bucket_per_host_and_budget():
    budget = RateBudget(5, 1)
    assert bucket_for("a.test", budget) is bucket_for("a.test", budget)
    assert bucket_for("a.test", budget) is not bucket_for("b.test", budget)
