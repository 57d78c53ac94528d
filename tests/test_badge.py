"""The SVG badge builder: well-formed, escaped, sized to its text, coloured like the pages."""
from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ckanext.mes_schedule import badge, schedule, vocab

CSS = Path(__file__).resolve().parents[1] / "ckanext" / "mes_schedule" / "assets" / "mes_schedule.css"
SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_every_status_has_a_colour_and_labels_in_three_languages():
    assert set(vocab.STATUS_COLOURS) == set(schedule.STATUSES)
    assert set(vocab.STATUS_LABELS) == set(schedule.STATUSES)
    for labels in [*vocab.STATUS_LABELS.values(), *vocab.OUTCOME_LABELS.values()]:
        assert set(labels) == {"kk", "ru", "en"} and all(labels.values())
    assert set(vocab.OUTCOME_LABELS) == set(schedule.OUTCOMES)


def test_colours_are_those_of_the_stylesheet():
    css = CSS.read_text(encoding="utf-8")
    for status, colour in vocab.STATUS_COLOURS.items():
        assert re.search(rf"\.mes-status-{status}\s*\{{\s*background:\s*{colour}\s*;", css), status


@pytest.mark.parametrize(
    "lang, label, message",
    [("en", "Order 120", "Overdue"), ("ru", "Приказ №120", "Просрочено"), ("kk", "№120 бұйрық", "Мерзімі өткен")],
)
def test_status_badge_in_each_language(lang, label, message):
    svg = badge.status_badge("overdue", lang)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert _texts(svg) == [label, label, message, message]
    assert root.get("aria-label") == f"{label}: {message}"
    assert vocab.STATUS_COLOURS["overdue"] in svg


def test_width_grows_with_the_text():
    short = ET.fromstring(badge.render("a", "b", "#123456"))
    long = ET.fromstring(badge.render("a", "b" * 40, "#123456"))
    assert int(long.get("width")) > int(short.get("width")) + 150
    never = ET.fromstring(badge.status_badge("never_published", "en"))
    on_time = ET.fromstring(badge.status_badge("on_time", "en"))
    assert int(never.get("width")) > int(on_time.get("width"))
    # The message's box is as wide as its text plus padding; the text is fitted to it exactly.
    rects = list(never.iter(f"{SVG}rect"))
    texts = list(never.iter(f"{SVG}text"))
    assert int(rects[2].get("width")) == int(texts[3].get("textLength")) + 12


def test_text_is_escaped_for_xml():
    svg = badge.render('<script>alert("x")</script> & \'q\'', "a\x00b<", "#fff")
    root = ET.fromstring(svg)  # well-formed despite markup and a NUL character
    assert "<script>" not in svg
    assert _texts(svg)[0] == '<script>alert("x")</script> & \'q\''
    assert _texts(svg)[2] == "ab<"
    assert root.get("aria-label").startswith("<script>")


def test_a_colour_must_be_a_hex_colour():
    with pytest.raises(ValueError):
        badge.render("a", "b", 'red" onload="alert(1)')


def test_etag_is_strong_and_depends_on_status_language_and_date():
    day = dt.date(2026, 11, 26)
    tag = badge.etag("on_time", "en", day)
    assert re.fullmatch(r'"[0-9a-f]{32}"', tag)
    assert tag == badge.etag("on_time", "en", day)
    assert len({tag, badge.etag("late", "en", day), badge.etag("on_time", "ru", day),
                badge.etag("on_time", "en", day + dt.timedelta(days=1))}) == 4


def test_unknown_codes_are_shown_as_they_are():
    assert vocab.status_label("weird", "ru") == "weird"
    assert vocab.order_label("fr") == "Order 120"
    assert vocab.status_label("late", "fr") == "Late"
