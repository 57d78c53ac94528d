"""Downloads of the compliance table, as a registry of formats. Pure Python (no CKAN import).

Each format is one `ExportFormat` in `FORMATS`: it turns an `ExportTable` (the header row, the rows the page
shows, and the action's whole result) into bytes. A new format (e.g. XLSX, ODS) is one more entry; the views
build their routes and download links from this registry.

A CSV is opened by people in a spreadsheet, so every cell that a spreadsheet would read as a formula is
neutralised (OWASP "CSV injection"): a single quote in front of a leading = + - @, tab or carriage return.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

__all__ = [
    "FORMULA_TRIGGERS",
    "ExportTable",
    "ExportFormat",
    "FORMATS",
    "neutralise",
    "csv_bytes",
    "json_bytes",
    "filename",
]

#: Leading characters that make Excel, LibreOffice or Google Sheets evaluate a cell (OWASP's list).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# Excel detects UTF-8 (and so shows Cyrillic and Kazakh letters correctly) only with a byte order mark.
_BOM = "\ufeff"


def neutralise(value: Any) -> str:
    """The cell's text, prefixed with a single quote when a spreadsheet would take it for a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A UTF-8 CSV with a byte order mark, CRLF line ends, every cell (headers too) neutralised."""
    out = io.StringIO()
    out.write(_BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in headers])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue().encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, indent=2, default=_json_default).encode("utf-8")


def filename(base: str, as_of: dt.date | str, extension: str) -> str:
    """A safe ASCII file name for Content-Disposition, e.g. compliance-mes-rk-2026-11-26.csv."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", base).strip("-.") or "compliance"
    day = as_of.isoformat() if isinstance(as_of, dt.date) else re.sub(r"[^0-9-]", "", str(as_of))
    return f"{safe}-{day}.{extension}" if day else f"{safe}.{extension}"


@dataclass(frozen=True)
class ExportTable:
    """What every format may draw from: the table as the page shows it, and the action's whole result."""

    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    result: Any


@dataclass(frozen=True)
class ExportFormat:
    extension: str
    mimetype: str
    render: Callable[[ExportTable], bytes]


#: The download formats, in the order the pages offer them.
FORMATS: dict[str, ExportFormat] = {
    fmt.extension: fmt
    for fmt in (
        ExportFormat("csv", "text/csv; charset=utf-8", lambda t: csv_bytes(t.headers, t.rows)),
        ExportFormat("json", "application/json; charset=utf-8", lambda t: json_bytes(t.result)),
    )
}
