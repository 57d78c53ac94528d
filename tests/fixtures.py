"""What the test modules share: the legal fields of a scheduled dataset, publication rows, an organisation with
a user in each capacity, and a real SMTP server.

tests/conftest.py loads this module as a pytest plugin, so its fixtures (`smtp`) are available everywhere; the
builders are plain functions, imported with `from tests.fixtures import legal, publish, staffed_organization`.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import email.utils
import shutil
import socket
import tempfile
import threading
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Iterator

import pytest
from aiosmtpd.controller import Controller

import ckan.model as model
import ckan.tests.factories as factories
from ckan.common import config

from ckanext.mes_schedule import vocab
from ckanext.mes_schedule.model import RETRACTION, Event, Publication

__all__ = [
    "CHROMEDRIVER", "CHROMIUM", "chromium", "serve_wsgi",
    "Inbox", "addresses_of", "events_in_force", "free_port", "legal", "publish", "smtp", "staffed_organization",
]

# ------------------------------------------------------------------------------------------- datasets


def legal(item: int = 5, rule: str = "annual quarter=4", frequency: str = "ANNUAL", **overrides: Any) -> dict[str, Any]:
    """The legal fields of a dataset that Order No. 120 schedules: item `item` of the order, due by `rule`.

    `frequency` is a code of the EU frequency vocabulary (ANNUAL, QUARTERLY, IRREG, ...) or its URI; `overrides`
    replace or add fields, e.g. `legal(5, mes_schedule_deadline_kk="...")`.
    """
    return {
        "mes_schedule_item": item,
        "mes_schedule_act_number": "120",
        "mes_schedule_act_date": "2016-01-29",
        "mes_schedule_act_registration": "13381",
        "mes_schedule_frequency": frequency if "://" in frequency else vocab.frequency_uri(frequency),
        "mes_schedule_rule": rule,
        "mes_schedule_deadline_kk": "жылына 1 рет IV тоқсан",
        **overrides,
    }


def publish(dataset: dict[str, Any] | str, *moments: dt.datetime | str, kind: str = "created",
            resource_id: str | None = None, url: str | None = None) -> None:
    """Publication rows of a dataset (its dict or id), one per moment, committed.

    A moment is a naive UTC datetime or an ISO date; a date means noon UTC, which is that same date in Almaty.
    Each row gets a resource id of its own unless `resource_id` is given.
    """
    package_id = dataset if isinstance(dataset, str) else dataset["id"]
    for moment in moments:
        when = dt.datetime.fromisoformat(f"{moment}T12:00:00") if isinstance(moment, str) else moment
        model.Session.add(
            Publication(package_id=package_id, resource_id=resource_id or str(uuid.uuid4()), kind=kind, url=url,
                        published_at=when)
        )
    model.Session.commit()


# ------------------------------------------------------------------------------------------- users


def events_in_force(package_id: str | None = None) -> list[Event]:
    """The event rows that count: the record is append-only, so a deleted event stays, superseded by a
    retraction row."""
    model.Session.expire_all()
    superseded = model.Session.query(Event.supersedes).filter(Event.supersedes.isnot(None))
    query = model.Session.query(Event).filter(Event.kind != RETRACTION, Event.id.notin_(superseded))
    if package_id is not None:
        query = query.filter(Event.package_id == package_id)
    return query.order_by(Event.event_date).all()


def staffed_organization(*roles: str, prefix: str | None = None, password: str | None = None,
                         **org_fields: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """An organisation and, for each capacity in `roles` ("admin", "editor", "member"), a new user with an API
    token who holds it there; the users are created first, in that order.

    `prefix` names the users `{prefix}_{role}`; `password` is every user's password; `org_fields` go to the
    organisation (name, title, ...). Returns the organisation and the users by role. A plain user with an
    organisation of their own is `staffed_organization("admin")`.
    """
    users = {}
    for role in roles:
        fields: dict[str, Any] = {}
        if prefix:
            fields["name"] = f"{prefix}_{role}"
        if password:
            fields["password"] = password
        users[role] = factories.UserWithToken(**fields)
    org = factories.Organization(
        users=[{"name": user["name"], "capacity": role} for role, user in users.items()], **org_fields
    )
    return org, users


# ------------------------------------------------------------------------------------------- SMTP server


def addresses_of(message: EmailMessage) -> set[str]:
    """The addresses in a message's To header, lower-cased."""
    return {address.lower() for _, address in email.utils.getaddresses(message.get_all("To", []))}


class Inbox:
    """An aiosmtpd handler keeping every message it accepts, parsed and raw, with its envelope recipients
    (lower-cased); it refuses the addresses in `refuse`."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage, bytes]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd API)
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.received.append(([address.lower() for address in envelope.rcpt_tos], message, raw))
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        return [message for _, message, _ in self.received]

    @property
    def recipients(self) -> set[str]:
        """Every envelope recipient of every message."""
        return {address for rcpts, _, _ in self.received for address in rcpts}

    def to(self, address: str) -> list[EmailMessage]:
        """The messages whose To header names `address`."""
        return [message for message in self.messages if address.lower() in addresses_of(message)]

    def clear(self) -> None:
        self.received.clear()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch) -> Iterator[Inbox]:
    """A real SMTP server on a free local port for the duration of a test, set as CKAN's `smtp.server`."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, server_hostname="localhost")
    controller.start()
    monkeypatch.setitem(config, "smtp.server", f"127.0.0.1:{port}")
    monkeypatch.setitem(config, "smtp.mail_from", "portal@test.ckan.net")
    try:
        yield inbox
    finally:
        controller.stop()


# ----------------------------------------------------------------------------------- a real browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@contextlib.contextmanager
def serve_wsgi(wsgi_app: Any, name: str = "live-ckan") -> Iterator[str]:
    """Serve a WSGI application (the whole stack: CKAN 2.11 sets the request language in a middleware outside
    the Flask app) on a free local port while the block runs; yields its base address."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", free_port(), wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium through selenium, with the Debian driver (selenium's own driver manager
    would try to download one)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="mes-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1400,1400", f"--user-data-dir={profile}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
