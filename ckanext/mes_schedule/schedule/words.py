"""The words of each rule kind in Kazakh, Russian and English (what ``describe`` returns).

One function per kind; ``kinds.KINDS`` refers to them.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Callable, Mapping

from .params import RuleParams
from .windows import twice_yearly_quarters

__all__ = [
    "LANGUAGES",
    "MONTH_NAMES",
    "ROMAN",
    "Words",
    "annual_words",
    "as_established_words",
    "event_words",
    "every_n_years_words",
    "normalise_lang",
    "quarterly_words",
    "ru_plural",
    "twice_yearly_words",
]

#: Languages ``describe`` writes in.
LANGUAGES: tuple[str, ...] = ("kk", "ru", "en")

#: Quarter numbers in Roman numerals, as the order writes them ("IV тоқсан").
ROMAN: Mapping[int, str] = MappingProxyType({1: "I", 2: "II", 3: "III", 4: "IV"})

# fmt: off
MONTH_NAMES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "ru": (
        "январь", "февраль", "март", "апрель", "май", "июнь",
        "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
    ),
    "kk": (
        "қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым",
        "шілде", "тамыз", "қыркүйек", "қазан", "қараша", "желтоқсан",
    ),
})
# fmt: on

#: A kind's words: (rule, language) -> text. The language is already one of LANGUAGES.
Words = Callable[[RuleParams, str], str]


def normalise_lang(lang: object) -> str:
    """"kk", "ru" or "en" for a language tag such as "ru_RU" or "kk-KZ"; "en" for anything else."""
    if not isinstance(lang, str):
        return "en"
    prefix = re.split(r"[-_]", lang.strip().lower(), maxsplit=1)[0]
    return prefix if prefix in LANGUAGES else "en"


def ru_plural(n: int, one: str, few: str, many: str) -> str:
    """Russian noun form after a number: 1 год, 2 года, 5 лет (11-14 take the 'many' form)."""
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def annual_words(rule: RuleParams, lang: str) -> str:
    if rule.quarter is not None:
        roman = ROMAN[rule.quarter]
        return {
            "en": f"Once a year, in quarter {roman}",
            "ru": f"Один раз в год, {roman} квартал",
            "kk": f"Жылына 1 рет, {roman} тоқсан",
        }[lang]
    month = MONTH_NAMES[lang][(rule.month or 1) - 1]
    return {
        "en": f"Once a year, in {month}",
        "ru": f"Один раз в год ({month})",
        "kk": f"Жылына 1 рет ({month} айы)",
    }[lang]


def quarterly_words(rule: RuleParams, lang: str) -> str:
    day = rule.day
    return {
        "en": f"Every quarter, by day {day} of the month after the reporting quarter",
        "ru": f"Ежеквартально, до {day}-го числа месяца, следующего за отчётным кварталом",
        "kk": f"Тоқсан сайын, есепті тоқсаннан кейінгі айдың {day} күніне дейін",
    }[lang]


def every_n_years_words(rule: RuleParams, lang: str) -> str:
    years, roman, start = rule.years or 0, ROMAN[rule.quarter or 1], rule.from_year
    ru_years = ru_plural(years, "год", "года", "лет")
    return {
        "en": f"Once every {years} years, in quarter {roman}, from {start}",
        "ru": f"Один раз в {years} {ru_years}, {roman} квартал, начиная с {start} года",
        "kk": f"{years} жылда 1 рет, {roman} тоқсан, {start} жылдан бастап",
    }[lang]


def twice_yearly_words(rule: RuleParams, lang: str) -> str:
    quarter, start = rule.quarter or 1, rule.from_year
    first, second = (ROMAN[q] for q in twice_yearly_quarters(quarter))
    # When the first window is the later quarter of the pair, the year alone would be ambiguous.
    if quarter <= 2:
        since = {
            "en": f"from {start}",
            "ru": f"начиная с {start} года",
            "kk": f"{start} жылдан бастап",
        }
    else:
        roman = ROMAN[quarter]
        since = {
            "en": f"from quarter {roman} of {start}",
            "ru": f"начиная с {roman} квартала {start} года",
            "kk": f"{start} жылғы {roman} тоқсаннан бастап",
        }
    return {
        "en": f"Twice a year, in quarters {first} and {second}, {since['en']}",
        "ru": f"Два раза в год, {first} и {second} кварталы, {since['ru']}",
        "kk": f"Жылына 2 рет, {first} және {second} тоқсандар, {since['kk']}",
    }[lang]


def event_words(rule: RuleParams, lang: str) -> str:
    days, cap = rule.working_days or 0, rule.max_per_year
    if lang == "en":
        unit = "working day" if days == 1 else "working days"
        text = f"Within {days} {unit} after each triggering event"
        return text + (f" (at most {cap} a year)" if cap else "")
    if lang == "ru":
        ru_days = ru_plural(days, "рабочего дня", "рабочих дней", "рабочих дней")
        text = f"В течение {days} {ru_days} со дня каждого события, влекущего публикацию"
        if cap:
            text += f" (не более {cap} {ru_plural(cap, 'раза', 'раз', 'раз')} в год)"
        return text
    text = f"Жариялауға негіз болатын әрбір оқиға күнінен бастап {days} жұмыс күні ішінде"
    return text + (f" (жылына {cap} реттен артық емес)" if cap else "")


def as_established_words(rule: RuleParams, lang: str) -> str:
    return {
        "en": "As established (no fixed term)",
        "ru": "В установленный срок (без фиксированной даты)",
        "kk": "Белгіленген мерзімде (тұрақты мерзімі жоқ)",
    }[lang]
