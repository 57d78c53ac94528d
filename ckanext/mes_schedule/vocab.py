"""Controlled vocabularies shared by the schema, the pages and the exports (no CKAN import)."""
from __future__ import annotations

__all__ = ["FREQUENCY_BASE", "FREQUENCIES", "frequency_uri", "frequency_code", "frequency_label", "LANGS"]

LANGS = ("kk", "ru", "en")

# EU Publications Office "frequency" authority table; DCAT-AP and ckanext-dcat use these URIs.
FREQUENCY_BASE = "http://publications.europa.eu/resource/authority/frequency/"

# code -> labels; only the codes the order's rules can need, in the order a form should offer them.
FREQUENCIES: dict[str, dict[str, str]] = {
    "ANNUAL": {"en": "Annual", "ru": "Ежегодно", "kk": "Жыл сайын"},
    "ANNUAL_2": {"en": "Semiannual (twice a year)", "ru": "Два раза в год", "kk": "Жылына екі рет"},
    "QUARTERLY": {"en": "Quarterly", "ru": "Ежеквартально", "kk": "Тоқсан сайын"},
    "BIENNIAL": {"en": "Biennial (every 2 years)", "ru": "Раз в 2 года", "kk": "2 жылда бір рет"},
    "TRIENNIAL": {"en": "Triennial (every 3 years)", "ru": "Раз в 3 года", "kk": "3 жылда бір рет"},
    "QUADRENNIAL": {"en": "Quadrennial (every 4 years)", "ru": "Раз в 4 года", "kk": "4 жылда бір рет"},
    "QUINQUENNIAL": {"en": "Quinquennial (every 5 years)", "ru": "Раз в 5 лет", "kk": "5 жылда бір рет"},
    "IRREG": {"en": "Irregular", "ru": "Нерегулярно", "kk": "Тұрақсыз"},
    "OTHER": {"en": "Other", "ru": "Другое", "kk": "Басқа"},
    "UNKNOWN": {"en": "Unknown", "ru": "Неизвестно", "kk": "Белгісіз"},
}


def frequency_uri(code: str) -> str:
    return FREQUENCY_BASE + code


def frequency_code(value: str | None) -> str | None:
    """The code of a stored frequency (a URI, or a bare code); None when it is not one of ours."""
    if not value:
        return None
    code = value[len(FREQUENCY_BASE):] if value.startswith(FREQUENCY_BASE) else value
    return code if code in FREQUENCIES else None


def frequency_label(value: str | None, lang: str = "en") -> str:
    code = frequency_code(value)
    if code is None:
        return value or ""
    labels = FREQUENCIES[code]
    return labels.get(lang) or labels["en"]
