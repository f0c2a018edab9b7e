from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pytest

from carbon254.connectors.errors import PayloadError
from carbon254.connectors.http import RawResponse
from carbon254.connectors.payload import (
    check_columns,
    check_payload,
    read_csv,
    read_json,
    read_zip_members,
)


def raw(content: bytes, content_type: str | None = None) -> RawResponse:
    return RawResponse("iso.feed", "https://x.test/f", datetime.now(UTC), content, content_type)


def zipped(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("body", [b"", b"  \n"])
def test_empty_body(body):
    with pytest.raises(PayloadError, match=r"iso\.feed: empty response body"):
        check_payload(raw(body))


def test_html_page_instead_of_data_names_its_title():
    page = b"<!DOCTYPE html><html><head><title>Site Maintenance</title></head></html>"
    with pytest.raises(PayloadError, match=r"HTML page instead of data.*Site Maintenance"):
        check_payload(raw(page))
    with pytest.raises(PayloadError, match="HTML page"):
        check_payload(raw(b'{"ok": 1}', "text/html; charset=utf-8"))


def test_json():
    assert read_json(raw(b'{"items": []}')) == {"items": []}
    with pytest.raises(PayloadError, match="not valid JSON"):
        read_json(raw(b'{"items": ['))


def test_zip_members_nested_and_filtered():
    inner = zipped(**{"a_csv.csv": b"x\n1\n", "a.xml": b"<x/>"})
    body = zipped(**{"one.zip": inner, "b.csv": b"y\n2\n"})
    names = [name for name, _ in read_zip_members(raw(body))]
    assert names == ["a_csv.csv", "b.csv"]


def test_truncated_zip_raises():
    body = zipped(**{"big.csv": b"x,y\n" + b"1,2\n" * 10_000})
    for cut in (len(body) // 2, len(body) - 30):
        with pytest.raises(PayloadError, match="truncated or corrupt zip"):
            read_zip_members(raw(body[:cut]))


def test_zip_without_csv():
    with pytest.raises(PayloadError, match=r"holds no \.csv"):
        read_zip_members(raw(zipped(**{"a.xml": b"<x/>"})))


def test_columns_missing_and_unknown():
    check_columns("iso.feed", ["a", "b", "c"], ["a", "b"], ["c"])
    with pytest.raises(PayloadError, match=r"missing column\(s\) in doc 7: b"):
        check_columns("iso.feed", ["a"], ["a", "b"], where="doc 7")
    with pytest.raises(PayloadError, match=r"unknown column\(s\): z"):
        check_columns("iso.feed", ["a", "b", "z"], ["a", "b"])


def test_read_csv_keeps_text_columns_and_strips_header_spaces():
    table = read_csv(
        "iso.feed",
        b"Hour , Id,Price\n01:00,0042,1.5\n",
        ["Hour", "Id", "Price"],
        strings=["Hour", "Id"],
    )
    assert table.column_names == ["Hour", "Id", "Price"]
    assert table.to_pylist() == [{"Hour": "01:00", "Id": "0042", "Price": 1.5}]
    with pytest.raises(PayloadError, match="empty CSV"):
        read_csv("iso.feed", b"", ["a"])
