"""CSV and JSON building: Excel-friendly UTF-8, and no formula survives into a spreadsheet."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from ckanext.mes_schedule import exports


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Реестр = список", "Реестр = список"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_neutralise(value, expected):
    assert exports.neutralise(value) == expected


def test_csv_has_a_bom_crlf_and_neutralised_cells():
    body = exports.csv_bytes(["Атауы", "=Status"], [["Балабақшалар, 2026", "@SUM(1)"], ["a\"b", 5]])
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["Атауы", "'=Status"], ["Балабақшалар, 2026", "'@SUM(1)"], ['a"b', "5"]]


def test_json_keeps_unicode_and_dates():
    body = exports.json_bytes({"title": "Тізілім", "as_of": dt.date(2026, 1, 2)})
    assert "Тізілім".encode() in body
    assert json.loads(body) == {"title": "Тізілім", "as_of": "2026-01-02"}


def test_filename_is_safe_ascii():
    assert exports.filename("compliance-mes-rk", dt.date(2026, 11, 26), "csv") == "compliance-mes-rk-2026-11-26.csv"
    assert exports.filename('a"b/../c', "2026-11-26", "json") == "a-b-..-c-2026-11-26.json"
    assert exports.filename("", "", "csv") == "compliance.csv"
