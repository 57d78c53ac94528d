"""Reminders: who gets what, once, in their language, through a real SMTP server that the tests start."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
from typing import Any

import pytest

import ckan.model as model
import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories
from ckan.common import config

from ckanext.mes_schedule import reminders
from ckanext.mes_schedule.cli.remind import remind
from ckanext.mes_schedule.model import Publication, Reminder
from ckanext.mes_schedule.reminders import delivery

ANNUAL = "http://publications.europa.eu/resource/authority/frequency/ANNUAL"

# "annual quarter=4": the 2026 period opens 2026-10-01 and is due Thursday 2026-12-31. 1-2 January are
# holidays, 2-3 January 2027 a weekend and 4 January the day off for 2 January, so the first working day
# after the deadline is Tuesday 2027-01-05.
DUE = dt.date(2026, 12, 31)

DUE_SOON_SUBJECT = ("Reminder: {n} dataset is due soon", "Reminder: {n} datasets are due soon")
OVERDUE_SUBJECT = ("Overdue: {n} dataset has missed its deadline", "Overdue: {n} datasets have missed their deadline")
ESCALATION_SUBJECT = ("Escalation: {n} dataset is overdue", "Escalation: {n} datasets are overdue")


# ------------------------------------------------------------------------------------------- e-mails
# The SMTP server is the `smtp` fixture of tests/fixtures.py.


def _addresses(message: email.message.EmailMessage) -> set[str]:
    return {addr.lower() for _, addr in email.utils.getaddresses([message["To"]])}


def text_of(message: email.message.EmailMessage) -> str:
    # CLDR writes some dates with (narrow) no-break spaces: "2026\u202fж. 31 желтоқсан".
    text = message.get_body(preferencelist=("plain",)).get_content()
    return text.replace("\u202f", " ").replace("\xa0", " ")


def html_of(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


# ------------------------------------------------------------------------------------------- data


def _legal(item: int, rule: str = "annual quarter=4") -> dict[str, Any]:
    return {
        "mes_schedule_item": item,
        "mes_schedule_act_number": "120",
        "mes_schedule_act_date": "2016-01-29",
        "mes_schedule_act_registration": "13381",
        "mes_schedule_frequency": ANNUAL,
        "mes_schedule_rule": rule,
        "mes_schedule_deadline_kk": "жылына 1 рет IV тоқсан",
    }


def _set_language(user: dict[str, Any], lang: str) -> None:
    obj = model.User.get(user["id"])
    obj.plugin_extras = {**(obj.plugin_extras or {}), "mes_schedule_language": lang}
    model.Session.commit()


def _publish(dataset: dict[str, Any], when: dt.datetime) -> None:
    model.Session.add(
        Publication(package_id=dataset["id"], resource_id=f"r-{dataset['id']}", kind="backfill", published_at=when)
    )
    model.Session.commit()


def _titles(kk: str, ru: str, en: str) -> dict[str, str]:
    return {"title": kk, "title_ru": ru, "title_en": en}


@pytest.fixture
def portal(with_plugins, clean_db, clean_index):
    """Two organisations; the ministry's has an editor (Russian), an admin (English) and a plain member."""
    editor = factories.User(name="editor_ru", fullname="Айгерим Редактор")
    admin = factories.User(name="admin_en", fullname="Admin Person")
    member = factories.User(name="member_only")
    outsider = factories.User(name="outsider")
    other_editor = factories.User(name="other_editor")
    _set_language(editor, "ru")
    _set_language(admin, "en")
    org = factories.Organization(
        name="ministry",
        users=[
            {"name": editor["name"], "capacity": "editor"},
            {"name": admin["name"], "capacity": "admin"},
            {"name": member["name"], "capacity": "member"},
        ],
    )
    other_org = factories.Organization(name="other-org", users=[{"name": other_editor["name"], "capacity": "editor"}])
    public = factories.Dataset(
        name="schools-list", owner_org=org["id"], maintainer_email="Maint@Example.kz", **_legal(5),
        **_titles("Мектептер тізімі", "Список школ", "List of schools"),
    )
    private = factories.Dataset(
        name="secret-budget", owner_org=org["id"], private=True, maintainer_email="priv-maint@example.kz",
        **_legal(6), **_titles("Құпия бюджет", "Секретный бюджет", "Secret budget"),
    )
    published = factories.Dataset(name="published-one", owner_org=org["id"], **_legal(7))
    _publish(published, dt.datetime(2026, 11, 2, 6, 0))
    elsewhere = factories.Dataset(name="other-data", owner_org=other_org["id"], **_legal(8))
    unscheduled = factories.Dataset(name="not-in-the-order", owner_org=org["id"], maintainer_email="x@example.kz")
    # An organisation whose only admin (the site user that created it) has no e-mail: nobody to tell.
    empty_org = factories.Organization(name="empty-org")
    orphan = factories.Dataset(name="orphan-data", owner_org=empty_org["id"], **_legal(9))
    return {
        "editor": editor,
        "admin": admin,
        "member": member,
        "outsider": outsider,
        "other_editor": other_editor,
        "org": org,
        "public": public,
        "private": private,
        "published": published,
        "elsewhere": elsewhere,
        "unscheduled": unscheduled,
        "orphan": orphan,
    }


def _send(app, as_of: dt.date, dry_run: bool = False) -> reminders.RemindReport:
    with app.flask_app.test_request_context():
        return reminders.send_reminders(as_of=as_of, dry_run=dry_run)


def _translated(app, lang: str, singular: str, plural: str, n: int) -> str:
    """What the subject says in `lang` with whatever catalogs are compiled (English msgids without them)."""
    with app.flask_app.test_request_context(), reminders.forced_locale(lang):
        return tk.ungettext(singular, plural, n).format(n=n)


def _recorded() -> set[tuple[str, dt.date, str, str]]:
    model.Session.expire_all()
    return {(r.package_id, r.period_due, r.kind, r.recipient) for r in model.Session.query(Reminder)}


# ------------------------------------------------------------------------------------------- tests


@pytest.mark.usefixtures("with_plugins", "clean_db")
class TestSettings:
    def test_defaults(self):
        assert reminders.remind_days() == (30, 7, 1)
        assert reminders.escalate_after_days() == 7
        assert reminders.default_language() == "kk"
        assert reminders.calendar_months() == 12

    @pytest.mark.ckan_config("ckanext.mes_schedule.remind_days", "3 14 3")
    def test_remind_days_from_the_ini(self):
        assert reminders.remind_days() == (14, 3)

    @pytest.mark.ckan_config("ckanext.mes_schedule.remind_days", "7 soon")
    def test_a_bad_value_names_the_option(self):
        with pytest.raises(tk.ValidationError) as error:
            reminders.remind_days()
        assert "ckanext.mes_schedule.remind_days" in error.value.error_dict

    @pytest.mark.ckan_config("ckanext.mes_schedule.default_language", "de")
    def test_an_unknown_language_is_refused(self):
        with pytest.raises(tk.ValidationError):
            reminders.default_language()


class TestDigests:
    def test_dry_run_lists_the_digests_and_sends_and_records_nothing(self, app, portal, smtp):
        report = _send(app, dt.date(2026, 12, 1), dry_run=True)
        assert report.dry_run
        emails = {d.recipient.email for d in report.digests}
        assert emails == {"maint@example.kz", "priv-maint@example.kz", portal["editor"]["email"].lower(),
                          portal["admin"]["email"].lower(), portal["other_editor"]["email"].lower()}
        assert all(e.kind == "due_soon_30" for d in report.digests for e in d.entries)
        assert smtp.messages == []
        assert _recorded() == set()

    def test_due_soon_goes_once_to_each_person_allowed_in_their_language(self, app, portal, smtp):
        report = _send(app, dt.date(2026, 12, 1))
        assert report.ok and len(report.sent) == 5
        editor, admin = portal["editor"]["email"].lower(), portal["admin"]["email"].lower()
        assert smtp.recipients == {"maint@example.kz", "priv-maint@example.kz", editor, admin,
                                   portal["other_editor"]["email"].lower()}
        for user in ("member", "outsider"):
            assert not smtp.to(portal[user]["email"])

        # One digest per recipient, listing all their datasets, each with its link.
        (to_editor,) = smtp.to(editor)
        assert to_editor["Content-Language"] == "ru"
        assert _translated(app, "ru", *DUE_SOON_SUBJECT, 2) in to_editor["Subject"]
        body = text_of(to_editor)
        assert "Список школ" in body and "Секретный бюджет" in body  # Russian titles
        assert "http://test.ckan.net/dataset/schools-list" in body
        assert "http://test.ckan.net/dataset/secret-budget" in body
        assert "31 декабря 2026" in body
        assert "published-one" not in body and "other-data" not in body and "not-in-the-order" not in body
        assert 'href="http://test.ckan.net/dataset/schools-list"' in html_of(to_editor)

        (to_admin,) = smtp.to(admin)
        assert to_admin["Content-Language"] == "en"
        assert "List of schools" in text_of(to_admin)

        # A maintainer address that is no user gets the default language, Kazakh.
        (to_maintainer,) = smtp.to("maint@example.kz")
        assert to_maintainer["Content-Language"] == "kk"
        assert _translated(app, "kk", *DUE_SOON_SUBJECT, 1) in to_maintainer["Subject"]
        body = text_of(to_maintainer)
        assert "Мектептер тізімі" in body and "2026 ж. 31 желтоқсан" in body
        assert "secret-budget" not in body and "Құпия" not in body

        recorded = _recorded()
        assert (portal["public"]["id"], DUE, "due_soon_30", "maint@example.kz") in recorded
        assert (portal["private"]["id"], DUE, "due_soon_30", editor) in recorded

    def test_a_second_run_sends_nothing(self, app, portal, smtp):
        _send(app, dt.date(2026, 12, 1))
        recorded = _recorded()
        smtp.clear()
        again = _send(app, dt.date(2026, 12, 1))
        later = _send(app, dt.date(2026, 12, 5))  # still the 30-day reminder: already sent
        assert again.digests == [] and later.digests == []
        assert smtp.messages == []
        assert _recorded() == recorded

    def test_a_private_dataset_is_told_only_to_its_organisation_staff_and_maintainer(self, app, portal, smtp):
        _send(app, dt.date(2026, 12, 1))
        told = set().union(*(_addresses(m) for m in smtp.messages if "secret-budget" in text_of(m)))
        allowed = {"priv-maint@example.kz", portal["editor"]["email"].lower(), portal["admin"]["email"].lower()}
        assert told == allowed
        for message in smtp.messages:
            if "secret-budget" in text_of(message):
                continue
            assert "Secret" not in text_of(message) and "secret-budget" not in html_of(message)

    def test_only_the_tightest_reminder_is_sent_and_the_looser_ones_count_as_sent(self, app, portal, smtp):
        report = _send(app, dt.date(2026, 12, 28))  # 3 days left, no reminder sent before
        assert {e.kind for d in report.digests for e in d.entries} == {"due_soon_7"}
        recorded = _recorded()
        assert (portal["public"]["id"], DUE, "due_soon_7", "maint@example.kz") in recorded
        assert (portal["public"]["id"], DUE, "due_soon_30", "maint@example.kz") in recorded
        assert _send(app, dt.date(2026, 12, 29)).digests == []
        last = _send(app, dt.date(2026, 12, 30))  # the day before
        assert {e.kind for d in last.digests for e in d.entries} == {"due_soon_1"}
        assert _send(app, DUE).digests == []  # on the day itself: nothing new

    def test_overdue_from_the_first_working_day_then_escalation_to_admins_only(self, app, portal, smtp):
        assert _send(app, dt.date(2027, 1, 2)).digests == []  # a holiday, and a Saturday
        assert _send(app, dt.date(2027, 1, 4)).digests == []  # the day off moved from 2 January
        report = _send(app, dt.date(2027, 1, 5))
        assert {e.kind for d in report.digests for e in d.entries} == {"overdue"}
        editor, admin = portal["editor"]["email"].lower(), portal["admin"]["email"].lower()
        assert {"maint@example.kz", editor, admin} <= {d.recipient.email for d in report.digests}
        (to_editor,) = smtp.to(editor)
        assert _translated(app, "ru", *OVERDUE_SUBJECT, 2) in to_editor["Subject"]
        smtp.clear()

        escalated = _send(app, dt.date(2027, 1, 7))  # 7 days after the deadline
        assert {d.recipient.email for d in escalated.digests} == {admin}
        assert {e.kind for e in escalated.digests[0].entries} == {"escalation"}
        (message,) = smtp.messages
        assert _translated(app, "en", *ESCALATION_SUBJECT, 2) in message["Subject"]
        # The other organisation has an editor but no admin with an e-mail: its escalation reaches nobody.
        untold = {row.dataset.name: kinds for row, kinds in escalated.unreachable}
        assert untold == {"other-data": ("escalation",), "orphan-data": ("escalation", "overdue")}
        assert _send(app, dt.date(2027, 1, 20)).digests == []

    def test_overdue_and_escalation_due_together_give_admins_one_entry(self, app, portal, smtp):
        report = _send(app, dt.date(2027, 1, 15))
        admin = portal["admin"]["email"].lower()
        by_email = {d.recipient.email: d for d in report.digests}
        assert [e.kind for e in by_email[admin].entries] == ["escalation", "escalation"]
        assert {e.kind for e in by_email[portal["editor"]["email"].lower()].entries} == {"overdue"}
        recorded = _recorded()
        assert (portal["public"]["id"], DUE, "overdue", admin) in recorded
        assert (portal["public"]["id"], DUE, "escalation", admin) in recorded
        assert _send(app, dt.date(2027, 1, 16)).digests == []

    def test_an_smtp_failure_is_not_recorded_and_the_others_go_on(self, app, portal, smtp):
        editor = portal["editor"]["email"].lower()
        smtp.refuse.add(editor)
        report = _send(app, dt.date(2026, 12, 1))
        assert [d.recipient.email for d, _ in report.failures] == [editor]
        assert len(report.sent) == 4
        assert not any(r[3] == editor for r in _recorded())
        smtp.refuse.clear()
        smtp.clear()
        retry = _send(app, dt.date(2026, 12, 2))
        assert [d.recipient.email for d in retry.sent] == [editor]
        assert len(smtp.messages) == 1

    @pytest.mark.ckan_config("ckanext.mes_schedule.default_language", "ru")
    def test_the_default_language_is_configurable_and_a_users_own_wins(self, app, portal, smtp):
        _send(app, dt.date(2026, 12, 1))
        assert smtp.to("maint@example.kz")[0]["Content-Language"] == "ru"
        assert smtp.to(portal["admin"]["email"])[0]["Content-Language"] == "en"

    def test_a_maintainer_address_of_a_user_takes_that_users_language(self, app, portal, smtp):
        user = factories.User(name="kazakh_reader", email="reader@example.kz")
        _set_language(user, "en")
        from ckan.tests import helpers

        helpers.call_action(
            "package_patch", context={"user": factories.Sysadmin()["name"]}, id="schools-list",
            maintainer_email="reader@example.kz",
        )
        _send(app, dt.date(2026, 12, 1))
        (message,) = smtp.to("reader@example.kz")
        assert message["Content-Language"] == "en"
        assert "List of schools" in text_of(message)

    def test_without_smtp_server_a_real_run_refuses_to_start(self, app, portal, monkeypatch):
        monkeypatch.setitem(config, "smtp.server", "")
        with pytest.raises(reminders.RemindError):
            _send(app, dt.date(2026, 12, 1))
        assert _recorded() == set()


class TestRecipientCap:
    """ckanext.mes_schedule.max_recipients_per_dataset: maintainer addresses first, then admins, then editors."""

    @pytest.mark.ckan_config("ckanext.mes_schedule.max_recipients_per_dataset", "2")
    def test_the_least_relevant_are_left_out_and_reported(self, app, portal, smtp):
        editor, admin = portal["editor"]["email"].lower(), portal["admin"]["email"].lower()
        report = _send(app, dt.date(2026, 12, 1))
        assert report.ok
        assert smtp.recipients == {"maint@example.kz", "priv-maint@example.kz", admin,
                                   portal["other_editor"]["email"].lower()}
        assert not smtp.to(editor)
        assert {row.dataset.name: cut for row, cut in report.capped} == {
            "schools-list": (editor,), "secret-budget": (editor,)
        }
        assert report.as_dict()["capped"] == {"schools-list": [editor], "secret-budget": [editor]}
        assert not any(r[3] == editor for r in _recorded())

    @pytest.mark.ckan_config("ckanext.mes_schedule.max_recipients_per_dataset", "1")
    def test_maintainer_addresses_come_first_and_a_cut_escalation_is_unreachable(self, app, portal, smtp):
        report = _send(app, dt.date(2027, 1, 7), dry_run=True)  # overdue, and escalated to admins
        by_email = {d.recipient.email: d for d in report.digests}
        assert {e.row.dataset.name for e in by_email["maint@example.kz"].entries} == {"schools-list"}
        assert portal["admin"]["email"].lower() not in by_email
        untold = {row.dataset.name: kinds for row, kinds in report.unreachable}
        assert untold["schools-list"] == ("escalation",)

    def test_under_the_default_nobody_is_left_out(self, app, portal, smtp):
        assert _send(app, dt.date(2026, 12, 1), dry_run=True).capped == []

    @pytest.mark.ckan_config("ckanext.mes_schedule.max_recipients_per_dataset", "2")
    def test_the_command_names_who_was_left_out(self, app, portal, smtp, cli):
        result = cli.invoke(remind, ["--dry-run", "--as-of", "2026-12-01"])
        assert result.exit_code == 0, result.output
        editor = portal["editor"]["email"].lower()
        assert f"schools-list: more people to tell than ckanext.mes_schedule.max_recipients_per_dataset " \
            f"allows; left out: {editor}" in result.output

    @pytest.mark.ckan_config("ckanext.mes_schedule.max_recipients_per_dataset", "0")
    def test_a_bad_limit_names_the_option(self, app, portal, smtp):
        with pytest.raises(tk.ValidationError) as error:
            _send(app, dt.date(2026, 12, 1), dry_run=True)
        assert "ckanext.mes_schedule.max_recipients_per_dataset" in error.value.error_dict


def test_a_long_non_ascii_subject_keeps_its_spaces():
    """Python 3.11 folds long encoded headers dropping a space now and then; our subject value does not."""
    from email.message import EmailMessage

    subject = "[Портал открытых данных] Просрочено: 2 набора данных не опубликованы в срок, и ещё несколько слов"
    message = EmailMessage()
    message.set_content("body")
    message["Subject"] = delivery._subject_value(subject)
    parsed = email.message_from_string(message.as_string(), policy=email.policy.default)
    assert parsed["Subject"] == subject


class TestCommandAndJob:
    def test_dry_run_prints_one_line_per_digest_and_totals(self, app, portal, smtp, cli):
        result = cli.invoke(remind, ["--dry-run", "--as-of", "2026-12-01"])
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert sum(line.startswith("would send to ") for line in lines) == 5
        assert any("maint@example.kz (kk): schools-list [due_soon_30 2026-12-31]" in line for line in lines)
        assert "5 digest(s), 7 reminder(s) about 3 dataset(s) would be sent" in result.output
        assert "nobody to tell about orphan-data [due_soon_30]" in result.output
        assert smtp.messages == [] and _recorded() == set()

    def test_a_real_run_then_a_second_one(self, app, portal, smtp, cli):
        first = cli.invoke(remind, ["--as-of", "2026-12-01"])
        assert first.exit_code == 0, first.output
        assert len(smtp.messages) == 5
        second = cli.invoke(remind, ["--as-of", "2026-12-01"])
        assert second.exit_code == 0, second.output
        assert "Nothing to send" in second.output
        assert len(smtp.messages) == 5

    def test_a_failed_recipient_makes_the_exit_code_non_zero(self, app, portal, smtp, cli):
        smtp.refuse.add("maint@example.kz")
        result = cli.invoke(remind, ["--as-of", "2026-12-01"])
        assert result.exit_code == 1
        assert "FAILED not sent to maint@example.kz" in result.output

    @pytest.mark.ckan_config("ckanext.mes_schedule.remind_days", "30 a-week")
    def test_a_bad_option_is_named(self, app, portal, smtp, cli):
        result = cli.invoke(remind, ["--dry-run"])
        assert result.exit_code == 1
        assert "ckanext.mes_schedule.remind_days" in result.output

    def test_a_bad_date_is_a_usage_error(self, cli):
        result = cli.invoke(remind, ["--as-of", "2026-13-01"])
        assert result.exit_code == 2
        assert "YYYY-MM-DD" in result.output

    @pytest.mark.usefixtures("with_plugins", "clean_redis")
    def test_enqueue_puts_the_job_on_the_queue(self, cli):
        from ckan.lib import jobs

        result = cli.invoke(remind, ["--enqueue", "--as-of", "2026-12-01"])
        assert result.exit_code == 0, result.output
        (job,) = jobs.get_queue().jobs
        assert job.func_name == "ckanext.mes_schedule.reminders.mes_schedule_remind_job"
        assert job.kwargs == {"as_of": "2026-12-01"}
        assert f"queued job {job.id}" in result.output
        assert cli.invoke(remind, ["--enqueue", "--dry-run"]).exit_code == 2

    def test_the_background_job_sends_and_reports(self, app, portal, smtp):
        summary = reminders.mes_schedule_remind_job(as_of="2026-12-01")
        assert summary["digests"] == 5 and len(summary["sent"]) == 5 and summary["failed"] == {}
        assert len(smtp.messages) == 5
        assert reminders.mes_schedule_remind_job(as_of="2026-12-01")["digests"] == 0

    def test_the_background_job_fails_when_a_message_fails(self, app, portal, smtp):
        smtp.refuse.add("maint@example.kz")
        with pytest.raises(reminders.RemindError):
            reminders.mes_schedule_remind_job(as_of="2026-12-01")
