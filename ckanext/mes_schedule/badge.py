"""Compliance badges: a small two-part SVG ("Order 120 | On time"), in the style of shields.io.

Pure Python (no CKAN import): the view decides what to show and who may see it; this module only draws.
The status words and colours come from the vocabulary (vocab.py), as do the pages' CSS classes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from xml.sax.saxutils import escape as _xml_escape

from ckanext.mes_schedule.vocab import STATUS_COLOURS, order_label, status_label

__all__ = [
    "text_width",
    "render",
    "status_badge",
    "etag",
]

# ------------------------------------------------------------------------------------------ drawing

_LABEL_COLOUR = "#555"
_FONT_SIZE = 11
_HEIGHT = 20
_PADDING = 6  # on each side of a text
# Approximate advance widths of Verdana at 11px; the SVG also sets textLength, so the text is squeezed or
# stretched to exactly the computed width whatever font the viewer has.
_NARROW = set("iIjl.,:;!|'`()[]{} ")
_SEMI = set("frt-/\\\"")
_WIDE = set("mwMWШЩЖЮМФшщжюмфы№")


def _char_width(ch: str) -> float:
    if ch in _NARROW:
        return 3.9
    if ch in _SEMI:
        return 4.9
    if ch in _WIDE:
        return 10.3
    if ch.isdigit():
        return 7.0
    if unicodedata.category(ch).startswith("M"):
        return 0.0  # combining marks take no room of their own
    if ch.isupper():
        return 7.6
    return 6.8


def text_width(text: str) -> int:
    """The width in pixels the text takes at the badge's font size (an estimate, rounded up)."""
    return int(sum(_char_width(ch) for ch in text) + 0.999)


# Characters XML 1.0 does not allow at all (C0 controls other than tab, LF, CR).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: str) -> str:
    """Text escaped for XML content and double-quoted attributes."""
    return _xml_escape(_XML_ILLEGAL.sub("", text), {'"': "&quot;", "'": "&apos;"})


def render(label: str, message: str, colour: str) -> str:
    """A two-part badge: `label` on grey, `message` on `colour` (a #rgb or #rrggbb colour)."""
    if not re.fullmatch(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?", colour):
        raise ValueError(f"not a hex colour: {colour!r}")
    label_text_width, message_text_width = text_width(label), text_width(message)
    label_width = label_text_width + 2 * _PADDING
    message_width = message_text_width + 2 * _PADDING
    width = label_width + message_width
    label_x = label_width / 2
    message_x = label_width + message_width / 2
    title = _xml(f"{label}: {message}")
    label_xml, message_xml = _xml(label), _xml(message)
    # Ids unique to the picture: several badges inlined in one HTML page must not share a clip path.
    uid = hashlib.sha256(f"{label}|{message}|{colour}".encode()).hexdigest()[:8]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{_HEIGHT}" role="img" '
        f'aria-label="{title}">'
        f"<title>{title}</title>"
        f'<linearGradient id="s{uid}" x2="0" y2="100%">'
        '<stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/>'
        "</linearGradient>"
        f'<clipPath id="r{uid}"><rect width="{width}" height="{_HEIGHT}" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r{uid})">'
        f'<rect width="{label_width}" height="{_HEIGHT}" fill="{_LABEL_COLOUR}"/>'
        f'<rect x="{label_width}" width="{message_width}" height="{_HEIGHT}" fill="{colour}"/>'
        f'<rect width="{width}" height="{_HEIGHT}" fill="url(#s{uid})"/>'
        "</g>"
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        f'text-rendering="geometricPrecision" font-size="{_FONT_SIZE}">'
        f'<text x="{label_x:g}" y="15" fill="#010101" fill-opacity=".3" textLength="{label_text_width}" '
        f'lengthAdjust="spacingAndGlyphs" aria-hidden="true">{label_xml}</text>'
        f'<text x="{label_x:g}" y="14" textLength="{label_text_width}" lengthAdjust="spacingAndGlyphs">'
        f"{label_xml}</text>"
        f'<text x="{message_x:g}" y="15" fill="#010101" fill-opacity=".3" textLength="{message_text_width}" '
        f'lengthAdjust="spacingAndGlyphs" aria-hidden="true">{message_xml}</text>'
        f'<text x="{message_x:g}" y="14" textLength="{message_text_width}" lengthAdjust="spacingAndGlyphs">'
        f"{message_xml}</text>"
        "</g></svg>"
    )


def status_badge(status: str, lang: str = "en") -> str:
    """The badge of a compliance status in one of the portal's languages."""
    return render(order_label(lang), status_label(status, lang), STATUS_COLOURS.get(status, "#757575"))


# Bump when the drawing changes, so that caches holding the old picture under the same ETag let it go.
_DESIGN_VERSION = "1"


def etag(status: str, lang: str, as_of: dt.date) -> str:
    """A strong ETag (quoted) for the badge of `status` in `lang` on the date `as_of`."""
    digest = hashlib.sha256(f"{_DESIGN_VERSION}|{status}|{lang}|{as_of.isoformat()}".encode()).hexdigest()
    return f'"{digest[:32]}"'
