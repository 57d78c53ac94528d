"""The whole portal's assessments, kept per process (compliance.assess_datasets): after a change only what changed
is assessed again, and the result is always the one a whole read gives."""
from __future__ import annotations

from typing import Any

import pytest

import ckan.tests.factories as factories
from ckan.tests.helpers import call_action

from ckanext.mes_schedule import compliance, localization
from tests.fixtures import legal, publish, staffed_organization

pytestmark = pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")

AS_OF = compliance.today()


def _state(rows: list[compliance.ComplianceRow]) -> list[tuple[Any, ...]]:
    return sorted(
        (r.dataset.id, r.dataset.name, r.dataset.private, r.dataset.owner_org, r.dataset.item, r.status,
         tuple((o.period.label, o.outcome) for o in r.assessment.periods))
        for r in rows
    )


def _whole_read() -> list[tuple[Any, ...]]:
    compliance._cache.clear()
    return _state(compliance.assess_datasets(AS_OF))


@pytest.fixture
def datasets(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    org, _ = staffed_organization(name="mes-rk")
    made = {item: factories.Dataset(name=f"item-{item}", owner_org=org["id"], **legal(item)) for item in (5, 6, 7)}
    factories.Dataset(name="not-scheduled", owner_org=org["id"])
    reads: list[Any] = []
    real = compliance.scheduled_datasets

    def spy(package_ids: Any = None, organization_ids: Any = None) -> Any:
        reads.append(None if package_ids is None else set(package_ids))
        return real(package_ids, organization_ids)

    monkeypatch.setattr(compliance, "scheduled_datasets", spy)
    compliance._cache.clear()
    compliance.assess_datasets(AS_OF)  # the whole read, kept
    assert reads == [None]
    reads.clear()
    return {"org": org, "made": made, "reads": reads, "context": {"user": factories.Sysadmin()["name"]}}


def _check(datasets: dict[str, Any], expected_reread: set[str]) -> list[tuple[Any, ...]]:
    """Since the last check, the kept assessments were brought up to date without a whole read (the change's
    own dataset read again; datasets saved in the last minutes may be too), and equal a whole read."""
    reads = datasets["reads"]
    incremental = _state(compliance.assess_datasets(AS_OF))
    assert None not in reads and any(expected_reread <= read for read in reads), reads
    assert incremental == _whole_read()
    compliance.assess_datasets(AS_OF)  # the whole read just made is kept again
    reads.clear()
    return incremental


def test_a_publication_reassesses_its_dataset_only(datasets: dict[str, Any]) -> None:
    target = datasets["made"][5]
    before = {row[0]: row for row in _state(compliance.assess_datasets(AS_OF))}
    publish(target, localization.utcnow())
    after = {row[0]: row for row in _check(datasets, {target["id"]})}
    assert after[target["id"]] != before[target["id"]]
    assert {k: v for k, v in after.items() if k != target["id"]} == {
        k: v for k, v in before.items() if k != target["id"]
    }


def test_edits_deletions_and_new_datasets(datasets: dict[str, Any]) -> None:
    made = datasets["made"]
    call_action("package_patch", datasets["context"], id=made[6]["id"], private=True)
    assert any(row[2] for row in _check(datasets, {made[6]["id"]}))
    new = factories.Dataset(name="item-8", owner_org=datasets["org"]["id"], **legal(8))
    assert new["id"] in {row[0] for row in _check(datasets, {new["id"]})}
    call_action("package_patch", datasets["context"], id=new["id"], mes_schedule_item="9")
    assert (new["id"], 9) in {(row[0], row[4]) for row in _check(datasets, {new["id"]})}


@pytest.mark.parametrize("action", ["dataset_purge", "package_delete"])
def test_a_purge_or_a_deletion_means_a_whole_read(datasets: dict[str, Any], action: str) -> None:
    """Neither leaves a trace the marks can follow (a deletion moves no metadata_modified)."""
    call_action(action, datasets["context"], id=datasets["made"][5]["id"])
    rows = compliance.assess_datasets(AS_OF)
    assert datasets["reads"] == [None]
    assert datasets["made"][5]["id"] not in {r.dataset.id for r in rows}


def test_the_change_log_moves_at_every_write_the_record_reads(datasets: dict[str, Any]) -> None:
    """compliance.change_version: one indexed read instead of counting the tables (migration f6b8d0e2a4c6)."""
    import ckan.model as model

    def moved(write: Any) -> bool:
        before = compliance.change_version()
        write()
        model.Session.commit()
        return compliance.change_version() != before

    context = datasets["context"]
    made = datasets["made"]
    assert moved(lambda: publish(made[5], "2026-01-10"))
    assert moved(lambda: call_action("package_patch", context, id=made[6]["id"], title="Жаңа атау"))
    assert moved(lambda: call_action("package_delete", context, id=made[7]["id"]))
    assert moved(lambda: call_action("organization_patch", context, id=datasets["org"]["id"], title="Басқа"))
    assert moved(lambda: model.set_system_info("ckan.site_intro_text", "x"))
    model.delete_system_info("ckan.site_intro_text")
    assert not moved(lambda: factories.User())
    # A write that changes nothing the assessments read keeps them: no read at all.
    datasets["reads"].clear()
    compliance.assess_datasets(AS_OF)
    datasets["reads"].clear()
    assert moved(lambda: model.set_system_info("ckan.site_about", "y"))
    model.delete_system_info("ckan.site_about")
    compliance.assess_datasets(AS_OF)
    assert datasets["reads"] == []
