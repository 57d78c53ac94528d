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
    "CHROMEDRIVER", "CHROMIUM", "chromium", "serve_wsgi", "DATASTORE_PLUGINS", "datastore_tables", "run_jobs_worker",
    "serve_directory", "logged_in", "form_token", "fresh_database",
    "Inbox", "addresses_of", "events_in_force", "free_port", "legal", "publish", "smtp", "staffed_organization",
]

# ------------------------------------------------------------------------------------------- shared cache


@pytest.fixture(autouse=True)
def _empty_page_cache() -> Iterator[None]:
    """Every test starts with an empty shared page cache: pages stored by an earlier test (a database in
    another state, another configuration) are unreachable by their keys, and this makes it certain."""
    from ckanext.mes_schedule import page_cache

    page_cache.clear()
    yield


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


def logged_in(app: Any, user: dict[str, Any], password: str, check: str = "/dashboard/") -> Any:
    """A browser for `user`: one cookie jar, logged in through CKAN's login form (`check`: a page only a logged-in
    user gets with a 200)."""
    browser = app.test_client()
    response = browser.post("/user/login", data={"login": user["name"], "password": password}, follow_redirects=False)
    assert response.status_code == 302
    assert browser.get(check, follow_redirects=False).status_code == 200, "not logged in"
    return browser


def form_token(body: str) -> tuple[str, str]:
    """The CSRF field name and token of a page's forms."""
    import re

    field = re.search(r'<meta name="csrf_field_name" content="([^"]+)"', body).group(1)  # type: ignore[union-attr]
    token = re.search(rf'name="{re.escape(field)}" value="([^"]+)"', body).group(1)  # type: ignore[union-attr]
    return field, token


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

    with _serving(make_server("127.0.0.1", free_port(), wsgi_app, threaded=True), name) as url:
        yield url


@contextlib.contextmanager
def _serving(server: Any, name: str) -> Iterator[str]:
    """Run a socketserver-style server in a thread while the block runs; yields its base address."""
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


# ------------------------------------------------------------------------------- DataStore and XLoader

#: The plugins of the portal's stack for the tests that drive the DataStore and XLoader (test.ini leaves them out).
DATASTORE_PLUGINS = "mes_schedule scheming_datasets scheming_organizations activity datastore xloader datatables_view"

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def datastore_tables() -> Iterator[None]:
    """An empty DataStore database (as CKAN's own `clean_datastore`: every table dropped) and an empty jobs
    queue for the test."""
    from sqlalchemy import orm

    from ckan.lib import jobs

    import ckanext.datastore.tests.helpers as datastore_helpers

    engine = datastore_helpers.db.get_write_engine()
    datastore_helpers.clear_db(orm.scoped_session(orm.sessionmaker(bind=engine)))
    jobs.get_queue().empty()
    yield
    jobs.get_queue().empty()


def _xloader_jobs_db() -> str:
    """XLoader's jobs database beside the test database (scripts/stack.sh creates it)."""
    import os

    main = os.environ.get("CKAN_SQLALCHEMY_URL") or config["sqlalchemy.url"]
    return os.environ.get("MES_SCHEDULE_TEST_XLOADER_DB") or f"{main}_xloader"


def run_jobs_worker(site_url: str, timeout: int = 120) -> str:
    """Run CKAN's real jobs worker (`ckan jobs worker --burst`) in a process of its own until the queue is empty,
    with the test configuration, the DataStore plugins and XLoader pointed at the live server `site_url`.
    Returns its output (for assertion messages)."""
    import os
    import subprocess
    import sys

    folder = Path(tempfile.mkdtemp(prefix="mes-worker-"))
    ini = folder / "worker.ini"
    ini.write_text(
        "[app:main]\n"
        f"use = config:{REPO / 'test.ini'}\n"
        f"ckan.plugins = {DATASTORE_PLUGINS}\n"
        f"ckan.site_id = {config['ckan.site_id']}\n"
        f"ckanext.xloader.site_url = {site_url}\n"
        f"ckanext.xloader.jobs_db.uri = {_xloader_jobs_db()}\n"
        # CKAN 2.11 reads the logging sections of the ini it is given, not of the one it uses
        + "\n[loggers]" + (REPO / "test.ini").read_text().split("[loggers]", 1)[1]
    )
    ckan = Path(sys.executable).with_name("ckan")
    try:
        done = subprocess.run(
            [str(ckan), "-c", str(ini), "jobs", "worker", "--burst"], capture_output=True, text=True,
            timeout=timeout, env=dict(os.environ), cwd=str(REPO),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return done.stdout + done.stderr


@contextlib.contextmanager
def serve_directory(folder: Path) -> Iterator[str]:
    """A plain HTTP server for the files of `folder` (a ministry's own server that a link resource points at)."""
    import functools
    import http.server

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", free_port()), functools.partial(Quiet, directory=str(folder))
    )
    with _serving(server, "ministry-server") as url:
        yield url


def fresh_database(reset_db: Any, reset_index: Any, migrate_db_for: Any) -> None:
    """An empty database and search index with the tables of the activity plugin and of this extension, for a
    world built once per class or module (conftest's `clean_db` does the same for each test)."""
    reset_db()
    reset_index()
    migrate_db_for("activity")
    migrate_db_for("mes_schedule")
