from __future__ import annotations

import httpx

from carbon254.connectors.http import HttpFetcher
from carbon254.connectors.replay import ReplayTransport, write_cassette


def test_replay_matches_ignoring_order_cache_busters_and_secrets(tmp_path, monkeypatch):
    (tmp_path / "a.json").write_bytes(b'{"items": [1]}')
    write_cassette(
        tmp_path,
        [
            {
                "url": "https://api.test/v1/feed?b=2&a=1",
                "file": "a.json",
                "headers": {"content-type": "application/json"},
            }
        ],
    )
    monkeypatch.setenv("CARBON254_HTTP_REPLAY", str(tmp_path))
    with HttpFetcher() as http:
        raw = http.get("t.feed", "https://api.test/v1/feed?a=1&b=2&_=12345&api_key=zzz")
    assert raw.content == b'{"items": [1]}'
    assert raw.content_type == "application/json"


def test_unrecorded_request_never_reaches_the_network(tmp_path):
    write_cassette(tmp_path, [])
    client = httpx.Client(transport=ReplayTransport(tmp_path))
    response = client.get("https://api.test/other")
    assert response.status_code == 599
    assert "no recorded response" in response.text
