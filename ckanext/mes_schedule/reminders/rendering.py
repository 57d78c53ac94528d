"""What a digest says: its subject and bodies, in the recipient's language (templates in
templates/mes_schedule/publisher/email_digest*.html)."""
from __future__ import annotations

from typing import Any, NamedTuple

import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import localization, schedule, settings
from ckanext.mes_schedule.reminders.planning import DUE_SOON, ESCALATION, OVERDUE, Digest, DigestEntry

__all__ = ["Rendered", "dataset_link", "subject", "entry_vars", "render_digest"]


class Rendered(NamedTuple):
    subject: str
    text: str
    html: str


def _site_url() -> str:
    return (tk.config.get("ckan.site_url") or "").rstrip("/")


def _site_title(lang: str = "kk") -> str:
    # The portal's name in the recipient's language when the portal names itself in it (settings.site_title).
    return settings.site_title(lang) or tk.config.get("ckan.site_title") or "CKAN"


def dataset_link(name: str) -> str:
    return f"{_site_url()}/dataset/{name}"


def subject(digest: Digest) -> str:
    """The subject line, e.g. "[site] Reminder: 2 datasets are due soon", after the digest's most severe kind."""
    kinds = [e.kind for e in digest.entries]
    if ESCALATION in kinds:
        n = kinds.count(ESCALATION)
        text = tk.ungettext(
            "Escalation: {n} dataset is overdue", "Escalation: {n} datasets are overdue", n
        ).format(n=n)
    elif OVERDUE in kinds:
        n = kinds.count(OVERDUE)
        text = tk.ungettext(
            "Overdue: {n} dataset has missed its deadline", "Overdue: {n} datasets have missed their deadline", n
        ).format(n=n)
    else:
        n = len(kinds)
        text = tk.ungettext(
            "Reminder: {n} dataset is due soon", "Reminder: {n} datasets are due soon", n
        ).format(n=n)
    return f"[{_site_title(digest.recipient.language)}] {text}"


def entry_vars(entry: DigestEntry, lang: str) -> dict[str, Any]:
    """The template variables of one entry of a digest."""
    ds, period = entry.row.dataset, entry.due.period
    return {
        "kind": "due_soon" if entry.kind.startswith(DUE_SOON) else entry.kind,
        "days": entry.due.days,
        "title": ds.title_in(lang),
        "name": ds.name,
        "link": dataset_link(ds.name),
        "due": period.due.isoformat(),
        "due_long": localization.long_date(period.due, lang),
        "period": localization.period_in_words(period, lang),
        "rule_in_words": schedule.describe(entry.row.rule, lang) if entry.row.rule else "",
        "role": entry.role,
        "private": ds.private,
    }


def render_digest(digest: Digest) -> Rendered:
    """Subject, plain-text body and HTML body, in the recipient's language (needs a request context)."""
    lang = digest.recipient.language
    with localization.forced_locale(lang):
        extra_vars = {
            "recipient": digest.recipient,
            "entries": [entry_vars(e, lang) for e in digest.entries],
            "site_title": _site_title(),
            "site_url": _site_url(),
            "deadlines_url": f"{_site_url()}/dashboard/deadlines",
            "lang": lang,
        }
        title = subject(digest)
        text = tk.render("mes_schedule/publisher/email_digest_text.html", extra_vars)
        html = tk.render("mes_schedule/publisher/email_digest.html", extra_vars)
    return Rendered(title, text.strip() + "\n", html)
