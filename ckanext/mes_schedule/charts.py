"""Compliance over time: per year or per quarter, the on-time rate and the missed deadlines of the datasets a
reader may see (the portal's, or one organisation's), as rows for a table and as SVG charts drawn by pygal.

Everything is computed from `compliance.assess_datasets` (the one home of compliance data), period by period,
placed in the year or quarter of its due date:

- on-time rate: the periods published by their due date / the periods whose due date has passed (as the
  engine's own on-time rate counts them), per bucket; no bar for a bucket where nothing fell due;
- missed deadlines: the periods whose due date has passed without a publication by then (outcome "missed",
  or "late": published only afterwards).

The charts need no JavaScript: pygal's tooltip script is not loaded (`js=[]`) and its inline configuration
script is removed; each bar carries a <title> the browser shows on hover, and the picture has an accessible
name and description (role="img", <title>, <desc>) besides the table the pages show next to it.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import hashlib
from typing import Any, Callable, Iterable, Optional, Sequence

import pygal
from dateutil.relativedelta import relativedelta
from pygal.style import Style

import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import compliance, exports, schedule, vocab

__all__ = [
    "MEASURES",
    "BUCKETS",
    "WIDTH",
    "HEIGHT",
    "Bucket",
    "rows_for",
    "matching",
    "series",
    "series_dicts",
    "missed_counts",
    "missed_in_last",
    "title",
    "scope_text",
    "render",
    "etag",
]

MEASURES = ("on_time_rate", "missed")
#: The charts' size in pixels: half of a page's main column, where they are read at 1:1.
WIDTH, HEIGHT = 480, 260
BUCKETS = ("year", "quarter")

# ------------------------------------------------------------------------------------------------ data


@dataclasses.dataclass(frozen=True)
class Bucket:
    """One year (quarter None) or quarter of the series."""

    year: int
    quarter: Optional[int]
    due: int = 0  # periods whose due date fell in the bucket and has passed
    on_time: int = 0  # of those, published by their due date
    missed: int = 0  # of those, not published by their due date (missed, or late)

    @property
    def key(self) -> str:
        """"2024" or "2024 Q3" (as the engine labels quarters)."""
        return str(self.year) if self.quarter is None else f"{self.year} Q{self.quarter}"

    @property
    def on_time_rate(self) -> Optional[float]:
        return self.on_time / self.due if self.due else None

    def label(self, quarter_format: Optional[str] = None) -> str:
        """The bucket in the UI language (translated with the current locale; a caller that labels many passes
        the translated `quarter_format`: gettext costs more than the rest of a chart)."""
        if self.quarter is None:
            return str(self.year)
        return (quarter_format or _quarter_format()).format(year=self.year, quarter=self.quarter)


def _quarter_format() -> str:
    return tk._("{year} Q{quarter}")


def _labels(buckets: Sequence[Bucket], quarter_format: Optional[str] = None) -> list[str]:
    quarter_format = quarter_format or _quarter_format()
    return [b.label(quarter_format) for b in buckets]


def rows_for(
    visibility: compliance.Visibility, organization_id: Optional[str] = None, as_of: Optional[dt.date] = None
) -> list[compliance.ComplianceRow]:
    """The assessed datasets `visibility` allows, of one organisation or of the whole portal. The portal's
    assessments are cached (compliance.py): one organisation is a filter on them, as the compliance list does."""
    rows = compliance.assess_datasets(as_of=as_of, visibility=visibility)
    if organization_id is None:
        return rows
    return [row for row in rows if row.dataset.owner_org == organization_id]


def matching(
    rows: Iterable[compliance.ComplianceRow], frequency: Optional[str] = None, q: Optional[str] = None
) -> list[compliance.ComplianceRow]:
    """The rows that pass a compliance page's frequency and text filters (the same tests as the
    mes_schedule_compliance_list action's), so that the summary's missed deadlines count what its status
    counts count."""
    return [row for row in rows if compliance.matches(row, frequency, q)]


def _bucket_of(day: dt.date, by: str) -> tuple[int, Optional[int]]:
    return (day.year, None) if by == "year" else (day.year, (day.month - 1) // 3 + 1)


def _following(key: tuple[int, Optional[int]]) -> tuple[int, Optional[int]]:
    year, quarter = key
    if quarter is None:
        return year + 1, None
    return (year + 1, 1) if quarter == 4 else (year, quarter + 1)


def _settled(rows: Iterable[compliance.ComplianceRow], as_of: dt.date) -> Iterable[schedule.PeriodOutcome]:
    """The periods whose due date has passed on `as_of` (the engine's on-time rate counts the same)."""
    for row in rows:
        for outcome in row.assessment.periods:
            if outcome.period.due < as_of:
                yield outcome


def series(rows: Iterable[compliance.ComplianceRow], by: str, as_of: dt.date) -> list[Bucket]:
    """Every year or quarter from the first due date to `as_of` (the rows' assessment date), oldest first,
    with the periods due in it; empty when no deadline has passed."""
    if by not in BUCKETS:
        raise ValueError(f"by must be one of {BUCKETS}, not {by!r}")
    # Counted by due date first: a portal's periods share a few hundred due dates (10^6 outcomes on 10^5
    # datasets), so the buckets are worked out per date, not per outcome.
    by_day = collections.Counter((outcome.period.due, outcome.outcome) for outcome in _settled(rows, as_of))
    counts: dict[tuple[int, Optional[int]], list[int]] = {}
    for (day, result), number in by_day.items():
        tally = counts.setdefault(_bucket_of(day, by), [0, 0, 0])
        tally[0] += number
        tally[1] += number if result == "on_time" else 0
        tally[2] += number if result in ("missed", "late") else 0
    if not counts:
        return []
    key, last, out = min(counts), _bucket_of(as_of, by), []
    while key <= last:  # the empty years or quarters in between too: a gap is information
        due, on_time, missed = counts.get(key, (0, 0, 0))
        out.append(Bucket(key[0], key[1], due, on_time, missed))
        key = _following(key)
    return out


def series_dicts(buckets: Sequence[Bucket]) -> list[dict[str, Any]]:
    """The series as the table fallback shows it (labels in the UI language)."""
    return [
        {
            "key": b.key,
            "label": label,
            "due": b.due,
            "on_time": b.on_time,
            "missed": b.missed,
            "on_time_rate": b.on_time_rate,
            "rate_text": exports.rate_text(b.on_time_rate),
        }
        for b, label in zip(buckets, _labels(buckets), strict=True)
    ]


def missed_counts(
    rows: Iterable[compliance.ComplianceRow], as_of: dt.date, months: int = 12
) -> tuple[int, int]:
    """(missed deadlines in the last `months` months, missed deadlines in all) on `as_of`: periods not published
    by their due date (missed, or late), the recent ones those due after the same day `months` months earlier."""
    since = as_of - relativedelta(months=months)
    missed = collections.Counter(
        outcome.period.due for outcome in _settled(rows, as_of) if outcome.outcome in ("missed", "late")
    )
    return sum(n for day, n in missed.items() if day > since), sum(missed.values())


def missed_in_last(
    months: int,
    visibility: compliance.Visibility,
    organization_id: Optional[str] = None,
    as_of: Optional[dt.date] = None,
) -> int:
    """The missed deadlines of the datasets `visibility` allows (of one organisation, or all) whose due date
    fell in the last `months` months up to `as_of` (default: today)."""
    as_of = as_of or compliance.today()
    return missed_counts(rows_for(visibility, organization_id, as_of), as_of, months)[0]


# ------------------------------------------------------------------------------------------------ charts

_TEXT = "#212529"  # on white: 15.4:1
_FONT = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Liberation Sans", Arial, sans-serif'
)
# The bars take the colour of the outcome they count: both are darker than 4.5:1 on white.
_COLOURS = {"on_time_rate": vocab.OUTCOME_COLOURS["on_time"], "missed": vocab.OUTCOME_COLOURS["missed"]}


_GUIDES = "inline:#{id} .axis .guide.line,#{id} .axis .major.guide.line{{stroke:#d9d9d9;stroke-dasharray:none}}"


def _style(measure: str) -> Style:
    return Style(
        background="#fff",
        plot_background="#fff",
        foreground=_TEXT,
        foreground_strong=_TEXT,
        foreground_subtle="#6c757d",  # guide lines only
        font_family=_FONT,
        colors=(_COLOURS[measure],),
        opacity="1",
        opacity_hover="1",
        stroke_opacity="1",
        stroke_opacity_hover="1",
        transition="0ms",
        label_font_size=12,
        major_label_font_size=12,
        value_font_size=11,
        title_font_size=15,
        no_data_font_size=15,
    )


def title(measure: str, by: str) -> str:
    """The chart's title in the UI language."""
    if measure == "on_time_rate":
        return tk._("On-time rate by year") if by == "year" else tk._("On-time rate by quarter")
    return tk._("Missed deadlines by year") if by == "year" else tk._("Missed deadlines by quarter")


def scope_text(organization: Optional[Any], lang: str) -> str:
    """Whose datasets a chart counts, in words: an organisation's title in `lang` (its title_ru / title_en
    when filled), or the portal's."""
    if organization is None:
        return tk._("All datasets of Order No. 120")
    extras = organization.extras or {}
    return (extras.get(f"title_{lang}") if lang != "kk" else None) or organization.title or organization.name


def _value(bucket: Bucket, measure: str) -> Optional[float]:
    if measure == "missed":
        return bucket.missed
    rate = bucket.on_time_rate
    return None if rate is None else round(rate * 100, 1)


def _value_texts(buckets: Sequence[Bucket], measure: str, rate_format: str) -> list[Optional[str]]:
    """What each bucket's bar says ("3", "67% (2 of 3 on time)"); None where there is no bar."""
    if measure == "missed":
        return [str(b.missed) for b in buckets]
    return [
        rate_format.format(rate=exports.rate_text(b.on_time_rate), on_time=b.on_time, due=b.due) if b.due else None
        for b in buckets
    ]


def _integer_ticks(buckets: Sequence[Bucket]) -> list[int]:
    """Whole-number ticks for counts (pygal would otherwise write 0.5 deadlines)."""
    top = max((b.missed for b in buckets), default=0)
    step = 1
    while top / step > 8:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2  # 1, 2, 5, 10, 20, 50, ...
    return list(range(0, top + step + 1, step)) if top else [0, 1]


def _local(element: Any) -> str:
    """An element's tag without its namespace ("" for comments and processing instructions)."""
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _accessible(uid: str, heading: str, description: str, bar_titles: Sequence[str]) -> Callable[[Any], Any]:
    """A pygal xml filter (lxml or ElementTree elements): no script, no comment; role="img" named by the
    <title> and described by a <desc>; a <title> on each bar, in the order drawn (the browser's hover text)."""

    def apply(root: Any) -> Any:
        for parent in list(root.iter()):
            for child in list(parent):
                if _local(child) in ("", "script"):
                    parent.remove(child)
        root.set("role", "img")
        root.set("style", "max-width:100%;height:auto")  # never wider than its container; scaled down, never up
        root.set("aria-labelledby", f"{uid}-title {uid}-desc")
        heading_node = next(child for child in root if _local(child) == "title")
        heading_node.set("id", f"{uid}-title")
        heading_node.text = heading
        desc = root.makeelement("desc", {"id": f"{uid}-desc"})
        desc.text = description
        root.insert(list(root).index(heading_node) + 1, desc)
        bars = [e for e in root.iter() if _local(e) == "g" and e.get("class") == "bar"]
        for bar, text in zip(bars, bar_titles, strict=False):
            hover = bar.makeelement("title", {})
            hover.text = text
            bar.insert(0, hover)
        return root

    return apply


def _config(buckets: Sequence[Bucket], measure: str, by: str, no_data: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "width": WIDTH,
        "height": HEIGHT,
        "explicit_size": True,
        "show_legend": False,
        "print_values": len(buckets) <= 16,
        "print_values_position": "top",
        "no_data_text": no_data,
        "margin": 12,
        "spacing": 12,
        "truncate_label": -1,
    }
    if measure == "on_time_rate":
        config.update(range=(0, 100), y_labels=[0, 25, 50, 75, 100], value_formatter=lambda v: f"{v:.0f}%")
    else:
        config.update(y_labels=_integer_ticks(buckets), value_formatter=lambda v: f"{v:.0f}")
    return config


def _axis_labels(buckets: Sequence[Bucket], labels: Sequence[str], by: str) -> list[str]:
    """What is written under each bar. Forty quarters do not fit: then the year under each first quarter
    (every quarter still has its bar, its hover text and its row in the table)."""
    if by == "quarter" and len(buckets) > 12:
        return [str(b.year) if b.quarter == 1 else "" for b in buckets]
    return list(labels)


@dataclasses.dataclass(frozen=True)
class _Texts:
    """Every translated text a chart holds, besides its scope and numbers."""

    heading: str
    quarter_format: str
    rate_format: str
    no_data: str


def render(buckets: Sequence[Bucket], measure: str, by: str, scope: str) -> str:
    """The chart of `measure` per `by` as SVG (an <svg> element, no XML declaration: inline or served as is).
    `scope` names whose datasets are counted (the portal, an organisation); texts in the UI language."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, not {measure!r}")
    texts = _Texts(
        heading=title(measure, by),
        quarter_format=_quarter_format(),
        rate_format=tk._("{rate} ({on_time} of {due} on time)"),
        no_data=tk._("No deadline has passed yet."),
    )
    return _draw(tuple(buckets), measure, by, scope, texts)


# The picture is a function of its arguments alone (the texts come translated): the same numbers drawn again,
# on every page view until the data change, are taken from here rather than drawn by pygal again.
@functools.lru_cache(maxsize=64)
def _draw(buckets: tuple[Bucket, ...], measure: str, by: str, scope: str, texts: _Texts) -> str:
    labels, values = _labels(buckets, texts.quarter_format), _value_texts(buckets, measure, texts.rate_format)
    listed = "; ".join(f"{label}: {text or '—'}" for label, text in zip(labels, values, strict=True))
    description = f"{scope}. {listed}" if listed else scope
    # Ids that depend on what is drawn: the same chart twice is the same bytes (the ETag), two charts inlined in
    # one page do not share ids.
    uid = "chart-" + hashlib.sha256(f"{measure}|{by}|{texts.heading}|{description}".encode()).hexdigest()[:12]
    chart = pygal.Bar(
        style=_style(measure),
        title=texts.heading,
        disable_xml_declaration=True,
        js=[],
        # Light, solid guide lines (pygal's are dark dashes), after pygal's own style sheets.
        css=[*pygal.Config.css.value, _GUIDES.format(id=uid)],
        **_config(buckets, measure, by, texts.no_data),
    )
    bar_titles = [f"{label}: {text}" for label, text in zip(labels, values, strict=True) if text is not None]
    chart.add_xml_filter(_accessible(uid, texts.heading, description, bar_titles))
    # pygal's CSS is scoped by #chart-<uuid>: its random one would change the bytes every time.
    chart.uuid = uid[len("chart-"):]
    chart.x_labels = _axis_labels(buckets, labels, by)
    chart.add(texts.heading, [_value(b, measure) for b in buckets])
    return str(chart.render())


def etag(svg: str) -> str:
    """A strong ETag (quoted) naming exactly the drawn chart."""
    return '"' + hashlib.sha256(svg.encode()).hexdigest()[:32] + '"'
