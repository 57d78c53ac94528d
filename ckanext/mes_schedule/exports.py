"""Downloads of the compliance table, as a registry of formats. Pure Python (no CKAN import).

Each format is one `ExportFormat` in `FORMATS`: it turns an `ExportTable` (the header row, every row that
matches the filters, and the head of the action's result) into a stream of bytes. A new format (e.g. XLSX,
ODS) is one more entry; the views and the CLI (`ckan mes-schedule compliance`) build their routes, download
links and output from this registry, so a download and the command's output are the same bytes.

Exports are complete and streamed: `all_rows` pages through the compliance action (the caller gives it the
first page and a way to fetch the next), and the writers yield a chunk every few hundred rows, so a
10,000-row export needs no more memory than one page of the action.

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
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

from ckanext.mes_schedule import vocab

__all__ = [
    "day_text",
    "rate_text",
    "FORMULA_TRIGGERS",
    "COLUMNS",
    "TABLE_COLUMNS",
    "ExportTable",
    "ExportFormat",
    "FORMATS",
    "headers",
    "cells",
    "all_rows",
    "neutralise",
    "csv_chunks",
    "json_chunks",
    "csv_bytes",
    "json_bytes",
    "filename",
]

#: Leading characters that make Excel, LibreOffice or Google Sheets evaluate a cell (OWASP's list).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

#: The columns of a download, in order: the page's table (TABLE_COLUMNS), then what tells rows apart.
COLUMNS = (
    "item", "title", "frequency", "deadline", "next_due", "last_published", "on_time_rate", "status",
    "name", "url", "organization",
)
TABLE_COLUMNS = COLUMNS[:8]

# Excel detects UTF-8 (and so shows Cyrillic and Kazakh letters correctly) only with a byte order mark.
_BOM = "\ufeff"
# Rows per chunk of a streamed download: small enough for constant memory, large enough for few writes.
_CHUNK_ROWS = 200


def headers(_: Callable[[str], str]) -> list[str]:
    """The header row (COLUMNS' titles), translated by `_`: the caller's gettext, in the export's language."""
    return [
        _("Item"), _("Dataset"), _("Frequency"), _("Deadline"), _("Next due"), _("Last published"),
        _("On-time rate"), _("Status"), _("Dataset name"), _("Dataset URL"), _("Organization"),
    ]


def rate_text(value: Optional[float]) -> str:
    """An on-time rate as the table and the downloads write it ("75%", or empty)."""
    return "" if value is None else f"{round(value * 100)}%"


def day_text(value: Any) -> str:
    """The ISO date of a date or timestamp value, or empty."""
    if value in (None, ""):
        return ""
    return str(value)[:10]  # an ISO date, or the date part of an ISO timestamp


def cells(row: Mapping[str, Any], lang: str) -> dict[str, str]:
    """What each column shows for one row of the compliance action (plus its `url`), by column key: the
    page's table and the CSV write exactly these."""
    return {
        "item": "" if row.get("item") is None else str(row["item"]),
        "title": row.get("title") or row.get("name") or "",
        "frequency": vocab.frequency_label(row.get("frequency"), lang),
        "deadline": row.get("rule_in_words") or "",
        "next_due": day_text(row.get("next_due")),
        "last_published": day_text(row.get("last_published")),
        "on_time_rate": rate_text(row.get("on_time_rate")),
        "status": vocab.status_label(row.get("status") or "", lang),
        "name": row.get("name") or "",
        "url": row.get("url") or "",
        "organization": row.get("organization_title") or row.get("organization") or "",
    }


def all_rows(
    first: Mapping[str, Any], fetch: Callable[[int], Mapping[str, Any]], dataset_url: Callable[[str], str]
) -> Iterator[dict[str, Any]]:
    """Every row of a compliance list, page after page: `first` is the action's first page, `fetch(offset)`
    the page from `offset` on (same filters, same as_of). Each row gains the dataset's `url`.

    Pages are read while the download is written; a dataset changed meanwhile can move between pages (its
    row then appears twice or not at all), as with any paged read. The count is the first page's."""
    page, offset, count = first, 0, int(first.get("count") or 0)
    while True:
        results = list(page.get("results") or ())
        for row in results:
            yield {**row, "url": dataset_url(str(row.get("name") or ""))}
        offset += len(results)
        if not results or offset >= count:
            return
        page = fetch(offset)


def neutralise(value: Any) -> str:
    """The cell's text, prefixed with a single quote when a spreadsheet would take it for a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """A UTF-8 CSV with a byte order mark, CRLF line ends, every cell (headers too) neutralised, in chunks."""
    out = io.StringIO()
    out.write(_BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for n, row in enumerate(rows, start=1):
        writer.writerow([neutralise(cell) for cell in row])
        if n % _CHUNK_ROWS == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    return b"".join(csv_chunks(header, rows))


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, indent=2, default=_json_default).encode("utf-8")


def json_chunks(head: Mapping[str, Any], rows: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """`{**head, "results": [rows]}` as JSON, written row by row: `head` first (count, as_of, summary), so a
    reader learns the count before the rows."""
    opening = _dumps({k: v for k, v in head.items() if k != "results"})[:-1]  # without its closing brace
    yield (opening + (", " if opening != "{" else "") + '"results": [').encode("utf-8")
    parts: list[str] = []
    for n, row in enumerate(rows):
        parts.append(("," if n else "") + "\n" + _dumps(row))
        if len(parts) >= _CHUNK_ROWS:
            yield "".join(parts).encode("utf-8")
            parts = []
    yield ("".join(parts) + "\n]}\n").encode("utf-8")


def filename(base: str, as_of: dt.date | str, extension: str) -> str:
    """A safe ASCII file name for Content-Disposition, e.g. compliance-mes-rk-2026-11-26.csv."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", base).strip("-.") or "compliance"
    day = as_of.isoformat() if isinstance(as_of, dt.date) else re.sub(r"[^0-9-]", "", str(as_of))
    return f"{safe}-{day}.{extension}" if day else f"{safe}.{extension}"


@dataclass(frozen=True)
class ExportTable:
    """What every format may draw from: the translated header row, the rows (the action's row dicts with
    their `url`, read once, as they stream), the head of the action's result, and the language of the cells."""

    header: Sequence[str]
    rows: Iterable[Mapping[str, Any]]
    head: Mapping[str, Any]
    lang: str

    def cell_rows(self) -> Iterator[list[str]]:
        for row in self.rows:
            shown = cells(row, self.lang)
            yield [shown[key] for key in COLUMNS]


@dataclass(frozen=True)
class ExportFormat:
    extension: str
    mimetype: str
    render: Callable[[ExportTable], Iterator[bytes]]


#: The download formats, in the order the pages offer them.
FORMATS: dict[str, ExportFormat] = {
    fmt.extension: fmt
    for fmt in (
        ExportFormat("csv", "text/csv; charset=utf-8", lambda t: csv_chunks(t.header, t.cell_rows())),
        ExportFormat("json", "application/json; charset=utf-8", lambda t: json_chunks(t.head, t.rows)),
    )
}
