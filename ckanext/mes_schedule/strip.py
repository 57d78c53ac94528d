"""The period strip: a dataset's periods as a row of small cells, oldest left, coloured by outcome.

Hand-drawn SVG in the style of the badge (badge.py): no dependency, every text escaped, one accessible name
for the whole picture (role="img" and aria-label: "12 periods: On time 3; Late 2; Missed 7") and a <title> on
each cell, which browsers show on hover (period, due date, first publication). Colours and outcome words come
from the vocabulary (vocab.py), dates and periods in words from localization.py.

Cells are told apart by more than colour (WCAG 1.4.1): a missed period is crossed out, a late one has a
dog-ear, an open one is hollow. Texts are dark grey on white (12.6:1).

The strings are translated with the current locale: a view that draws in the language of `?lang=` renders
inside `localization.forced_locale(lang)`.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections import Counter
from typing import Optional, Sequence
from xml.sax.saxutils import escape

import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import localization, schedule, vocab
from ckanext.mes_schedule.badge import text_width

__all__ = ["MAX_PERIODS", "SMALL_PERIODS", "Words", "summary", "cell_title", "render", "swatch", "etag"]

#: At most this many periods are drawn (the latest ones); a label says when some were left out.
MAX_PERIODS = 40
#: The small strip of a compliance table's row shows this many.
SMALL_PERIODS = 12

_TEXT_COLOUR = "#333"  # on white: 12.6:1
_FONT = "Verdana,Geneva,DejaVu Sans,sans-serif"
_FONT_SIZE = 11
# Never wider than its container (a phone): scaled down, never up.
_FIT = "max-width:100%;height:auto"


# Characters XML 1.0 does not allow at all (C0 controls other than tab, LF, CR).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: str) -> str:
    """Text escaped for XML content and double-quoted attributes."""
    return escape(_XML_ILLEGAL.sub("", text), {'"': "&quot;", "'": "&apos;"})


@dataclasses.dataclass(frozen=True)
class _Size:
    cell: int  # a cell's width
    height: int  # a cell's height
    gap: int
    years: bool  # the years written under the cells

    @property
    def step(self) -> int:
        return self.cell + self.gap


_NORMAL = _Size(cell=14, height=20, gap=2, years=True)
_SMALL = _Size(cell=10, height=14, gap=2, years=False)


def _counts(outcomes: Sequence[schedule.PeriodOutcome]) -> Counter[str]:
    return Counter(o.outcome for o in outcomes)


class Words:
    """The strip's words in one language, each translated once: a compliance table draws fifty strips of a
    dozen cells, and gettext and Babel cost more than the drawing. Build one per language and request (the
    translations are the current locale's)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.heading = tk._("{period}: {outcome}")
        self.due = tk._("Due: {date}")
        self.first_published = tk._("First published: {date}")
        self.not_published = tk._("Not published")
        self._periods: dict[schedule.Period, str] = {}
        self._dates: dict[dt.date, str] = {}
        self._counts: dict[tuple[int, int], tuple[str, str]] = {}
        # Drawn cells: datasets of one rule share their periods, and their unpublished ones are the same cell.
        self.cells: dict[tuple[schedule.PeriodOutcome, int, bool], str] = {}

    def counts(self, total: int, shown: int) -> tuple[str, str]:
        """"12 periods" and "The last 10 are shown." (translated once per pair of numbers)."""
        if (total, shown) not in self._counts:
            self._counts[(total, shown)] = (
                tk.ungettext("{n} period", "{n} periods", total).format(n=total),
                tk._("The last {shown} are shown.").format(shown=shown),
            )
        return self._counts[(total, shown)]

    def period(self, period: schedule.Period) -> str:
        if period not in self._periods:
            self._periods[period] = localization.period_in_words(period, self.lang)
        return self._periods[period]

    def date(self, day: dt.date) -> str:
        if day not in self._dates:
            self._dates[day] = localization.long_date(day, self.lang)
        return self._dates[day]


def summary(outcomes: Sequence[schedule.PeriodOutcome], lang: str, shown: Optional[int] = None,
            words: Optional[Words] = None) -> str:
    """The strip's accessible name: how many periods and how each went ("12 periods: On time 3; Missed 9"),
    and how many are drawn when not all are."""
    total = len(outcomes)
    if not total:
        return tk._("No period has opened yet.")
    counts = _counts(outcomes)
    parts = "; ".join(
        f"{vocab.outcome_label(outcome, lang)} {counts[outcome]}" for outcome in schedule.OUTCOMES if counts[outcome]
    )
    periods, last_shown = (words or Words(lang)).counts(total, total if shown is None else shown)
    text = f"{periods}: {parts}"
    if shown is not None and shown < total:
        text += ". " + last_shown
    return text


def cell_title(outcome: schedule.PeriodOutcome, words: Words) -> str:
    """What a cell says on hover: the period in words and its outcome, the due date, the first publication."""
    heading = words.heading.format(
        period=words.period(outcome.period), outcome=vocab.outcome_label(outcome.outcome, words.lang)
    )
    due = words.due.format(date=words.date(outcome.period.due))
    if outcome.first_published:
        published = words.first_published.format(date=words.date(outcome.first_published))
    else:
        published = words.not_published
    return f"{heading}\n{due}\n{published}"


def _mark(outcome: str, x: int, size: _Size) -> str:
    """What tells the outcomes apart besides the colour."""
    right, bottom, pad = x + size.cell, size.height, 2.5
    if outcome == "missed":
        return (
            f'<path d="M{x + pad} {pad}L{right - pad} {bottom - pad}M{right - pad} {pad}L{x + pad} {bottom - pad}" '
            'stroke="#fff" stroke-width="1.5"/>'
        )
    if outcome == "late":
        corner = max(3, size.cell // 2)
        return f'<path d="M{right - corner} 0H{right}V{corner}Z" fill="#fff"/>'
    return ""


def _shape(outcome: str, x: int, size: _Size) -> str:
    """A cell of `outcome` at `x`: its box in the outcome's colour, and its mark."""
    colour = vocab.OUTCOME_COLOURS.get(outcome, "#757575")
    if outcome == "open":
        # Hollow: the period is still running. The stroke sits inside the cell's box.
        return (
            f'<rect x="{x + 0.75}" y="0.75" width="{size.cell - 1.5}" height="{size.height - 1.5}" rx="2" '
            f'fill="#fff" stroke="{colour}" stroke-width="1.5"/>'
        )
    box = f'<rect x="{x}" width="{size.cell}" height="{size.height}" rx="2" fill="{colour}"/>'
    return box + _mark(outcome, x, size)


def _cell(outcome: schedule.PeriodOutcome, position: int, words: Words, size: _Size) -> str:
    key = (outcome, position, size is _SMALL)
    if key not in words.cells:
        shape = _shape(outcome.outcome, position * size.step, size)
        words.cells[key] = (
            f'<g data-outcome="{_xml(outcome.outcome)}" data-period="{_xml(outcome.period.label)}">'
            f"<title>{_xml(cell_title(outcome, words))}</title>{shape}</g>"
        )
    return words.cells[key]


def swatch(outcome: str) -> str:
    """One cell of `outcome` alone, for a legend beside its words (hidden from screen readers: the words say it)."""
    size = _SMALL
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="mes-strip-swatch" width="{size.cell}" '
        f'height="{size.height}" viewBox="0 0 {size.cell} {size.height}" aria-hidden="true" focusable="false">'
        f"{_shape(outcome, 0, size)}</svg>"
    )


def _year(outcome: schedule.PeriodOutcome) -> int:
    period = outcome.period
    return period.covers_year if period.covers_year is not None else period.opens.year


def _year_labels(shown: Sequence[schedule.PeriodOutcome], size: _Size) -> str:
    """The year under the first cell of each year, skipping those that would overlap the previous label."""
    out, previous_year, free_from = [], None, 0
    for position, outcome in enumerate(shown):
        year = _year(outcome)
        x = position * size.step
        if year != previous_year and x >= free_from:
            out.append(f'<text x="{x}" y="{size.height + 12}">{year}</text>')
            free_from = x + text_width(str(year)) + 6
        previous_year = year
    return "".join(out)


def _text_group(body: str) -> str:
    return f'<g fill="{_TEXT_COLOUR}" font-family="{_FONT}" font-size="{_FONT_SIZE}">{body}</g>'


def render(
    outcomes: Sequence[schedule.PeriodOutcome], lang: str, limit: int = MAX_PERIODS, small: bool = False,
    words: Optional[Words] = None,
) -> str:
    """The strip of a dataset's periods (oldest first, as `Assessment.periods`): the latest `limit` of them,
    small (a table's row: no year labels) or not. `words`: the language's Words, when drawing many strips."""
    size = _SMALL if small else _NORMAL
    words = words or Words(lang)
    shown = list(outcomes[-limit:]) if limit > 0 else []
    name = summary(outcomes, lang, len(shown), words)
    if not outcomes:
        width = text_width(name) + 4
        text = _text_group(f'<text x="0" y="{size.height - 5}">{_xml(name)}</text>')
        return _svg(width, size.height, name, text, fit=not small)
    cells_width = len(shown) * size.step - size.gap
    texts = _year_labels(shown, size) if size.years else ""
    width = cells_width
    if len(shown) < len(outcomes) and not small:  # a table's small strip says so in its name only
        more = tk._("last {shown} of {total}").format(shown=len(shown), total=len(outcomes))
        texts += f'<text x="{cells_width + 6}" y="{size.height - 5}">{_xml(more)}</text>'
        width = cells_width + 6 + text_width(more) + 2
    cells = "".join(_cell(outcome, position, words, size) for position, outcome in enumerate(shown))
    body = cells + (_text_group(texts) if texts else "")
    return _svg(width, size.height + (16 if size.years else 0), name, body, fit=not small)


def _svg(width: int, height: int, name: str, body: str, fit: bool) -> str:
    """The picture: its size, its accessible name (also its hover text where no cell's applies), its body.
    `fit`: scaled down to a narrow container; a table's small strip keeps its size (a table cell would
    otherwise shrink it to nothing)."""
    style = f' style="{_FIT}"' if fit else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="mes-strip"{style} width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{_xml(name)}">'
        f"<title>{_xml(name)}</title>{body}</svg>"
    )


# Bump when the drawing changes, so that caches holding the old picture under the same ETag let it go.
_DESIGN_VERSION = "1"


def etag(svg: str) -> str:
    """A strong ETag (quoted) of a drawn strip: it names exactly the picture."""
    return '"' + hashlib.sha256(f"{_DESIGN_VERSION}|{svg}".encode()).hexdigest()[:32] + '"'
