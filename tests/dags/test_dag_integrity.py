"""DAG integrity: the DAG folder imports cleanly, holds our DAG, and does no work while parsing."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from schoolnet.core.paths import dags_dir
from schoolnet.orchestration import live_tasks

EXPECTED_DAGS = {"schoolnet_daily", "schoolnet_feedback", "schoolnet_provision_sheets"}


class LookupAtParseTime(AssertionError):
    pass


@pytest.fixture
def forbid_lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Make any connection or variable look-up raise while DAG files are parsed."""
    import airflow.sdk.execution_time.context as sdk_context

    seen: list[str] = []

    def connection(conn_id: str, *_args: Any, **_kwargs: Any) -> Any:
        seen.append(f"connection {conn_id}")
        raise LookupAtParseTime(f"connection {conn_id!r} looked up while parsing")

    def variable(key: str, *_args: Any, **_kwargs: Any) -> Any:
        seen.append(f"variable {key}")
        raise LookupAtParseTime(f"variable {key!r} looked up while parsing")

    monkeypatch.setattr(sdk_context, "_get_connection", connection)
    monkeypatch.setattr(sdk_context, "_get_variable", variable)
    yield seen


def parse(folder: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(folder), known_pools={"default_pool", "google_sheets"})


def test_dag_folder_imports_without_errors_and_holds_our_dags(forbid_lookups: list[str]) -> None:
    bag = parse(dags_dir())
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == EXPECTED_DAGS  # an empty bag fails here
    assert forbid_lookups == []


def test_the_guard_catches_a_lookup_at_parse_time(
    tmp_path: Path, forbid_lookups: list[str]
) -> None:
    """Prove the guard above works: a DAG file that reads a connection at import is reported."""
    (tmp_path / "bad_dag.py").write_text(
        textwrap.dedent(
            """
            import pendulum
            from airflow.sdk import BaseHook, dag

            BaseHook.get_connection("schoolnet_google")

            @dag(schedule=None, start_date=pendulum.datetime(2018, 1, 1))
            def bad():
                pass

            bad()
            """
        )
    )
    bag = parse(tmp_path)
    assert forbid_lookups == ["connection schoolnet_google"]
    assert any("looked up while parsing" in str(error) for error in bag.import_errors.values())


def test_an_import_error_is_reported_not_hidden(tmp_path: Path) -> None:
    """Prove the bag reports a DAG file that cannot be imported, as the first test relies on."""
    (tmp_path / "broken_dag.py").write_text(
        "from airflow.sdk import dag\nimport schoolnet.no_such_module\n", encoding="utf-8"
    )
    bag = parse(tmp_path)
    assert bag.dag_ids == []
    assert any("no_such_module" in str(error) for error in bag.import_errors.values())


def test_daily_dag_policy() -> None:
    bag = parse(dags_dir())
    dag = bag.dags.get("schoolnet_daily")
    assert dag is not None
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.timetable.expression == "0 6 * * *"
    assert "Asia/Bangkok" in str(dag.timetable.timezone)
    order = [t.task_id for t in dag.topological_sort()]
    assert order[:4] == ["load_registry", "plan_pulls", "pull_sheet", "merge_day"]
    assert set(order[4:-1]) == {"render_report", "send_report", "send_esa_feedback"}
    assert order.index("render_report") < order.index("send_report")
    # Last, whatever happened: it turns the run red unless the run did its job.
    confirm = dag.get_task("confirm_run")
    assert order[-1] == confirm.task_id and confirm.trigger_rule == "all_done"
    assert confirm.upstream_task_ids == {"send_report", "send_esa_feedback"}
    # One crashed pull must not hold back the national report.
    assert dag.get_task("merge_day").trigger_rule == "all_done"
    pull = dag.get_task("pull_sheet")
    assert pull.pool == "google_sheets"
    assert pull.map_index_template == "{{ esa_label }}"
    for task in dag.tasks:
        assert task.retries >= 1, f"{task.task_id} has no retries"
    assert dag.doc_md and "schoolnet_daily" in dag.doc_md


def test_feedback_dag_policy() -> None:
    """The near-live loop: on a clerk's edit (the gate keeps it to working hours), one run at a
    time, its Google work in the shared pool, one labelled check per
    edited sheet, no email."""
    bag = parse(dags_dir())
    dag = bag.dags.get("schoolnet_feedback")
    assert dag is not None
    assert dag.max_active_runs == 1 and dag.catchup is False
    # A clerk's edit starts it (the asset's watcher runs in the triggerer), and nothing else:
    # no clock, so a quiet hour starts no run.
    assert type(dag.timetable).__name__ == "AssetTriggeredTimetable"  # no time-based runs
    asset = dag.timetable.asset_condition  # the one asset
    assert asset.uri == live_tasks.DRIVE_CHANGES_URI
    (watcher,) = asset.watchers
    classpath, kwargs = watcher.trigger.serialize()
    assert classpath == "schoolnet.orchestration.live_trigger.DriveChangesTrigger"
    assert kwargs["poll_seconds"] <= 30 and kwargs["settings_path"] is None
    order = [t.task_id for t in dag.topological_sort()]
    assert order == ["gate", "poll_changes", "check_sheet"]
    for task_id in ("poll_changes", "check_sheet"):
        assert dag.get_task(task_id).pool == "google_sheets"
    assert dag.get_task("check_sheet").map_index_template == "{{ esa_label }}"
    assert not any("send" in task.task_id or "mail" in task.task_id for task in dag.tasks)
    for task in dag.tasks:
        assert task.retries >= 1, f"{task.task_id} has no retries"
    assert dag.params["any_time"] is False


def test_every_task_alerts_the_operators_when_it_fails() -> None:
    """A failure after the retries must reach a person: every task of every DAG carries the
    operator alert (Airflow's SmtpNotifier), set once in the DAG's default_args."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    from schoolnet.delivery.alerts import OperatorAlert

    bag = parse(dags_dir())
    tasks = [task for dag_id in EXPECTED_DAGS for task in bag.dags[dag_id].tasks]
    assert tasks
    for task in tasks:
        callbacks = task.on_failure_callback
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        alerts = [c for c in callbacks if isinstance(c, OperatorAlert)]
        assert alerts, f"{task.dag_id}.{task.task_id} alerts nobody when it fails"
        assert isinstance(alerts[0], SmtpNotifier)


def test_every_run_and_every_task_has_a_timeout_shorter_than_a_day() -> None:
    """With max_active_runs=1, a hung run must end (failed) before the next morning's is due,
    and a hung task before its run does."""
    bag = parse(dags_dir())
    for dag_id in EXPECTED_DAGS:
        dag = bag.dags[dag_id]
        assert dag.dagrun_timeout is not None, f"{dag_id} has no dagrun_timeout"
        assert dag.dagrun_timeout < timedelta(hours=24), dag_id
        for task in dag.tasks:
            timeout = task.execution_timeout
            assert timeout is not None, f"{dag_id}.{task.task_id} has no execution_timeout"
            assert timeout <= dag.dagrun_timeout, f"{dag_id}.{task.task_id}"


def test_the_architecture_doc_names_every_task_and_table() -> None:
    """docs/architecture.md is the map a newcomer reads first: a task a DAG gains, or a table
    the warehouse gains, must be named there (in backticks) before it ships."""
    from schoolnet.core.paths import project_root
    from schoolnet.warehouse.models import Base

    doc = (project_root() / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_]+)`", doc)) | set(re.findall(r"\*\*([a-z_]+)\*\*", doc))
    bag = parse(dags_dir())
    tasks = {f"{dag_id}.{task}" for dag_id in bag.dag_ids for task in bag.dags[dag_id].task_ids}
    assert set(bag.dag_ids) == EXPECTED_DAGS  # an empty bag fails here
    assert all(bag.dags[dag_id].task_ids for dag_id in EXPECTED_DAGS)
    assert {task for task in tasks if task.split(".")[1] not in named} == set()
    assert set(Base.metadata.tables) - named == set()
