"""Accept header negotiation (pure function, no server)."""

from __future__ import annotations

import pytest

from carbon254.service.negotiation import choose_media_type
from carbon254.service.problems import Problem

OFFERED = ("application/json", "application/vnd.apache.arrow.stream")
ARROW = OFFERED[1]


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        (ARROW, ARROW),
        (f"application/json;q=0.9, {ARROW}", ARROW),
        (f"{ARROW};q=0.1, */*;q=0.5", "application/json"),
        (f"text/html, {ARROW};q=0.2", ARROW),
        ("application/json;q=0, */*", ARROW),
        ("APPLICATION/JSON", "application/json"),
    ],
)
def test_choose(accept: str | None, chosen: str) -> None:
    assert choose_media_type(accept, OFFERED) == chosen


@pytest.mark.parametrize("accept", ["text/csv", "application/json;q=0", "image/*", "*/*;q=x"])
def test_nothing_acceptable(accept: str) -> None:
    with pytest.raises(Problem) as info:
        choose_media_type(accept, OFFERED)
    assert info.value.status == 406
