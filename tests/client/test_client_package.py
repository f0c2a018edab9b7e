"""The SDK as a package: what `import carbon254` loads, public names, configuration,
frames' conversions, and the wire helpers (cursors, Link headers, JSON columns)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import httpx
import pyarrow as pa
import pytest
import respx

import carbon254
from carbon254.client import Frame, PriceFrame
from carbon254.client._wire import columns_to_table, next_link

URL = "http://api.test"
SERVER_MODULES = (
    "fastapi", "starlette", "uvicorn", "duckdb", "psycopg", "strawberry", "redis", "jwt",
    "prometheus_client", "carbon254.service", "carbon254.store", "carbon254.ingest",
    "carbon254.connectors", "carbon254.analytics",
)  # fmt: skip


def test_importing_the_sdk_loads_no_server_module() -> None:
    code = (
        "import sys, carbon254\n"
        "client = carbon254.Client('http://localhost:1', api_key='k')\n"
        "carbon254.client.PriceFrame, carbon254.AsyncClient, carbon254.ValidationError\n"
        f"print(','.join(m for m in {SERVER_MODULES!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_plain_import_does_not_load_the_sdk() -> None:
    code = "import sys, carbon254; print('httpx' in sys.modules, 'pydantic' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["False", "False"], result.stderr


def test_public_names() -> None:
    errors = ["AuthenticationError", "PermissionDenied", "NotFound", "ValidationError",
              "RateLimitError", "ServerError", "TransportError"]  # fmt: skip
    for name in errors:
        assert issubclass(getattr(carbon254, name), carbon254.Carbon254Error)
    assert issubclass(carbon254.Timeout, carbon254.TransportError)
    assert carbon254.Client.__module__.startswith("carbon254.client")
    with pytest.raises(AttributeError):
        carbon254.NoSuchThing  # noqa: B018


def test_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARBON254_BASE_URL", "https://env.example/")
    with carbon254.Client() as client:
        assert client.base_url == "https://env.example"
    with pytest.raises(ValueError, match="http"):
        carbon254.Client("ftp://nope")
    with pytest.raises(ValueError, match="wire"):
        carbon254.Client(URL, wire="xml")  # type: ignore[arg-type]
    with carbon254.Client(URL, timeout=2.5) as client:
        assert client._http.timeout.read == 2.5
        with pytest.raises(ValueError, match="wire"):
            client.prices("PJM.DA.LMP.1", "2024-01-01", "2024-01-02", wire="csv")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="at least one"):
            client.prices([], "2024-01-01", "2024-01-02")
        with pytest.raises(TypeError, match="start"):
            client.prices("PJM.DA.LMP.1", 20240101, "2024-01-02")  # type: ignore[arg-type]


@respx.mock
def test_requests_say_who_they_are_and_what_they_accept() -> None:
    route = respx.get(f"{URL}/api/v1/prices").respond(
        200, json={"row_count": 0, "columns": {"instrument": []}}
    )
    with carbon254.Client(URL) as client:
        client.prices("PJM.DA.LMP.1", date(2024, 1, 1), "2024-01-02T00:00:00+01:00")
    request = route.calls[0].request
    assert request.headers["accept"] == "application/vnd.apache.arrow.stream"
    assert request.headers["user-agent"].startswith(f"carbon254-python/{carbon254.__version__}")
    assert dict(request.url.params) == {
        "instruments": "PJM.DA.LMP.1", "start": "2024-01-01", "end": "2024-01-02T00:00:00+01:00"
    }  # fmt: skip


@respx.mock
def test_pages_followed_by_link_header_alone() -> None:
    """A server that only sends `Link: rel=next` (no X-Next-Cursor) is followed too."""

    def page(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        n = int(cursor) if cursor else 0
        headers = {"Link": f'</api/v1/prices?cursor={n + 1}>; rel="next"'} if n < 2 else {}
        body = {"row_count": 1, "columns": {"instrument": [f"X.{n}"]}}
        return httpx.Response(200, json=body, headers=headers)

    route = respx.get(f"{URL}/api/v1/prices").mock(side_effect=page)
    with carbon254.Client(URL, wire="json") as client:
        frame = client.prices("PJM.DA.LMP.1", "2024-01-01", "2024-01-02")
    assert frame.to_arrow().column("instrument").to_pylist() == ["X.0", "X.1", "X.2"]
    assert frame.pages == 3 and route.call_count == 3
    assert route.calls[2].request.url.params["instruments"] == "PJM.DA.LMP.1"


@respx.mock
def test_a_repeated_cursor_stops_the_loop() -> None:
    respx.get(f"{URL}/api/v1/prices").respond(
        200, json={"row_count": 0, "columns": {}}, headers={"X-Next-Cursor": "same"}
    )
    with (
        carbon254.Client(URL) as client,
        pytest.raises(carbon254.Carbon254Error, match="repeated cursor"),
    ):
        client.prices("PJM.DA.LMP.1", "2024-01-01", "2024-01-02")


def test_next_link() -> None:
    assert next_link('</p?cursor=a>; rel="next"') == "/p?cursor=a"
    assert next_link('<https://x/p?c=1>; rel="prev", <https://x/p?c=3>; rel=next') == (
        "https://x/p?c=3"
    )
    assert next_link('</p>; rel="next last"') == "/p"
    assert next_link('</p>; rel="prev"') is None
    assert next_link(None) is None


def test_json_columns_become_typed_arrow() -> None:
    table = columns_to_table({
        "t": ["2024-11-03T05:00:00Z", None, "2024-11-03T01:00:00-04:00"],
        "d": ["2024-11-03", None, "2024-11-04"],
        "v": [1, 2.5, None],
        "s": ["a", "b", None],
        "n": [None, None, None],
    })  # fmt: skip
    assert table.schema.field("t").type == pa.timestamp("us", tz="UTC")
    assert table.column("t").to_pylist()[2] == table.column("t").to_pylist()[0]
    assert table.schema.field("d").type == pa.date32()
    assert table.schema.field("v").type == pa.float64()
    assert table.schema.field("s").type == pa.string()
    assert table.schema.field("n").type == pa.null()


def test_frames_convert_and_explain_missing_polars(monkeypatch: pytest.MonkeyPatch) -> None:
    table = pa.table({"instrument": ["A", "A"], "interval_start": pa.array(
        [0, 3_600_000_000], pa.timestamp("us", tz="UTC")), "value": [1.0, 2.0]})  # fmt: skip
    frame = PriceFrame(table, {"x": 1})
    assert frame.to_arrow() is table and len(frame) == 2 and frame.columns == table.column_names
    assert "PriceFrame 2 rows" in repr(frame)
    assert pa.table(frame).equals(table)  # the Arrow PyCapsule stream protocol
    monkeypatch.setitem(sys.modules, "polars", None)
    with pytest.raises(ImportError, match="pip install polars"):
        Frame(table).to_polars()


def test_frames_to_polars_keep_utc_times_and_values() -> None:
    """polars (the `polars` extra; installed for the tests) gets the Arrow table as is."""
    polars = pytest.importorskip("polars")
    starts = pa.array([0, 3_600_000_000], pa.timestamp("us", tz="UTC"))
    table = pa.table({"instrument": ["A", "A"], "interval_start": starts, "value": [1.0, None]})
    frame = PriceFrame(table, {}).to_polars()
    assert isinstance(frame, polars.DataFrame)
    assert frame.schema["interval_start"] == polars.Datetime("us", "UTC")
    assert frame["value"].to_list() == [1.0, None]
    assert frame["interval_start"].dt.hour().to_list() == [0, 1]


@respx.mock
def test_compressed_dictionary_encoded_arrow_is_read_as_is() -> None:
    """Server-side options for smaller bodies need nothing of the SDK."""
    starts = pa.array([0, 300_000_000], pa.timestamp("us", tz="UTC"))
    table = pa.table({"instrument": pa.array(["PJM.RT5.LMP.1"] * 2).dictionary_encode(),
                      "interval_start": starts, "value": [1.5, 2.5]})  # fmt: skip
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    respx.get(f"{URL}/api/v1/prices").respond(
        200, content=sink.getvalue().to_pybytes(),
        headers={"Content-Type": "application/vnd.apache.arrow.stream"},
    )  # fmt: skip
    with carbon254.Client(URL) as client:
        frame = client.prices("PJM.RT5.LMP.1", "2024-01-01", "2024-01-02")
    assert frame.to_arrow().equals(table)
    assert str(frame.to_pandas()["instrument"].dtype) == "category"


def test_rows_index_and_iterate_as_models() -> None:
    from carbon254.client import Rows
    from carbon254.core.api_models import Health

    rows = Rows(pa.table({"status": ["ok", "degraded"], "store": ["duckdb", None]}), Health)
    assert rows[1].status == "degraded" and rows[-1] == rows[1]
    assert [r.status for r in rows] == ["ok", "degraded"] and rows[0:1][0].store == "duckdb"
    with pytest.raises(IndexError):
        rows[2]


@respx.mock
def test_a_repeated_link_without_a_cursor_stops_the_loop() -> None:
    respx.get(f"{URL}/api/v1/prices").respond(
        200, json={"row_count": 0, "columns": {}}, headers={"Link": '</api/v1/prices>; rel="next"'}
    )
    with (
        carbon254.Client(URL, wire="json") as client,
        pytest.raises(carbon254.Carbon254Error, match="repeated next page"),
    ):
        client.prices("PJM.DA.LMP.1", "2024-01-01", "2024-01-02")
