"""Controlled vocabularies shared by the schema, the pages, the badges and the exports (no CKAN import):
frequencies (EU authority codes) and compliance statuses and period outcomes, with their words in kk/ru/en and
their colours. The status and outcome codes themselves are the engine's (schedule.STATUSES, schedule.OUTCOMES)."""
from __future__ import annotations

from typing import Mapping

__all__ = [
    "LANGS",
    "FREQUENCY_BASE",
    "FREQUENCIES",
    "frequency_uri",
    "frequency_code",
    "frequency_label",
    "STATUS_COLOURS",
    "OUTCOME_COLOURS",
    "STATUS_LABELS",
    "OUTCOME_LABELS",
    "ORDER_LABELS",
    "status_label",
    "outcome_label",
    "order_label",
]

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


# Same colours as the .mes-status-* classes of assets/mes_schedule.css (tests keep the two in step).
STATUS_COLOURS: dict[str, str] = {
    "on_time": "#2e7d32",
    "due_soon": "#a35f00",  # 5.0:1 with white text (WCAG AA); #b26a00 was 4.2:1
    "late": "#8d6e00",
    "overdue": "#c62828",
    "never_published": "#6d1b1b",
    "not_yet_due": "#546e7a",
    "no_deadline": "#757575",
}

# A period's outcome borrows the colour of the status it resembles most.
OUTCOME_COLOURS: dict[str, str] = {
    "on_time": STATUS_COLOURS["on_time"],
    "late": STATUS_COLOURS["late"],
    "missed": STATUS_COLOURS["overdue"],
    "open": STATUS_COLOURS["not_yet_due"],
}

# Labels in the portal's three languages. They are data, like vocab.FREQUENCIES, not gettext strings:
# a badge is drawn in the language its URL asks for (?lang=), whatever the request's UI language, and CKAN
# ships no Kazakh catalog.
STATUS_LABELS: dict[str, dict[str, str]] = {
    "overdue": {"en": "Overdue", "ru": "Просрочено", "kk": "Мерзімі өткен"},
    "never_published": {"en": "Never published", "ru": "Не публиковался", "kk": "Жарияланбаған"},
    "late": {"en": "Late", "ru": "С опозданием", "kk": "Кешігіп жарияланған"},
    "due_soon": {"en": "Due soon", "ru": "Скоро срок", "kk": "Мерзімі жақын"},
    "on_time": {"en": "On time", "ru": "В срок", "kk": "Мерзімінде"},
    "not_yet_due": {"en": "Not yet due", "ru": "Срок не наступил", "kk": "Мерзімі әлі келмеген"},
    "no_deadline": {"en": "No deadline", "ru": "Без срока", "kk": "Мерзімі белгіленбеген"},
}

OUTCOME_LABELS: dict[str, dict[str, str]] = {
    "on_time": {"en": "On time", "ru": "В срок", "kk": "Мерзімінде"},
    "late": {"en": "Late", "ru": "С опозданием", "kk": "Кешігіп жарияланған"},
    "missed": {"en": "Missed", "ru": "Пропущен", "kk": "Жарияланбаған"},
    "open": {"en": "Open", "ru": "Открыт", "kk": "Ашық"},
}

ORDER_LABELS: dict[str, str] = {"en": "Order 120", "ru": "Приказ №120", "kk": "№120 бұйрық"}


def _label(table: Mapping[str, Mapping[str, str]], key: str, lang: str) -> str:
    labels = table.get(key)
    if labels is None:
        return key  # an unknown code is shown as is rather than hidden
    return labels.get(lang) or labels["en"]


def status_label(status: str, lang: str = "en") -> str:
    return _label(STATUS_LABELS, status, lang)


def outcome_label(outcome: str, lang: str = "en") -> str:
    return _label(OUTCOME_LABELS, outcome, lang)


def order_label(lang: str = "en") -> str:
    return ORDER_LABELS.get(lang) or ORDER_LABELS["en"]
