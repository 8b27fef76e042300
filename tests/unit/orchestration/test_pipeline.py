"""The pull-validate-merge steps without Airflow: real gspread, the emulator, a SQLite warehouse."""

from __future__ import annotations

import email
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from schoolnet.cli.main import main
from schoolnet.contract import load_contract
from schoolnet.core.config import load_settings
from schoolnet.core.paths import project_root
from schoolnet.core.registry import Esa, RegistryError, read_esas
from schoolnet.devtools.demo import generate
from schoolnet.devtools.emulator import Emulator, load_day, set_fault
from schoolnet.devtools.emulator.server import cell_format
from schoolnet.devtools.mailsink import MailSink
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import SheetsReader
from schoolnet.orchestration.handoffs import PullSummary
from schoolnet.orchestration.merge import merge
from schoolnet.orchestration.pull import plan_pulls, pull_and_validate
from schoolnet.orchestration.registries import (
    load_school_registry,
    past_registry,
    run_esas,
    snapshot_registry,
)
from schoolnet.orchestration.replay import (
    NothingLanded,
    plan_replay,
    replay,
    replay_keep,
    replay_pull,
)
from schoolnet.orchestration.send import send_esa_feedback
from schoolnet.validation.feedback import TAB_HEADER, TAB_HEADING_ROW, EsaFeedback, padded
from schoolnet.validation.result import ResultFinding, SheetResult, result_path
from schoolnet.warehouse import create_warehouse_engine, ensure_schema
from schoolnet.warehouse.models import PullRow, SnapshotRow
from tests.checksum import warehouse_checksum


@dataclass
class Setup:
    root: Path
    settings: Any
    engine: Engine
    emulator: Emulator
    reader: SheetsReader
    esas: list[Esa]
    days: tuple[date, ...]

    def sheet(self, esa: Esa) -> dict[str, Any]:
        path = self.root / "state" / "spreadsheets" / f"{esa.spreadsheet_id}.json"
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return doc

    def save(self, esa: Esa, doc: dict[str, Any]) -> None:
        path = self.root / "state" / "spreadsheets" / f"{esa.spreadsheet_id}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")

    def run(self, day: date, full_pull: bool = True) -> dict[str, PullSummary]:
        """One daily run without Airflow: plan, pull every ESA, merge."""
        schools = load_school_registry(self.settings)
        plan, _ = plan_pulls(
            self.esas, day, self.settings, self.reader, self.engine, full_pull=full_pull
        )
        results = {}
        for entry, esa in zip(plan, self.esas, strict=True):
            results[esa.esa_code] = pull_and_validate(
                esa,
                day,
                self.settings,
                self.reader,
                schools,
                self.engine,
                modified_time=entry.modified_time,
                reuse_from=entry.reuse_from,
            )
        merge(day, self.settings, self.engine)
        return results


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    manifest = generate(tmp_path / "demo", esa_limit=3, days=3)
    config = tmp_path / "schoolnet.toml"
    template = (project_root() / "config" / "schoolnet.toml").read_text(encoding="utf-8")
    config.write_text(
        template.replace("out/demo-data", str(tmp_path / "demo")).replace('"out/', f'"{tmp_path}/'),
        encoding="utf-8",
    )
    # The shipped settings, but what the reads counted here depend on is pinned: no date is a
    # full-pull day unless a test says so, whatever interval config/ ships.
    shipped = load_settings(config)
    settings = replace(shipped, google=replace(shipped.google, full_pull_every_days=0))
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    ensure_schema(engine)
    load_day(tmp_path / "state", tmp_path / "demo", manifest.days[0])
    with Emulator(tmp_path / "state", read_quota_per_minute=0, write_quota_per_minute=0) as emu:
        reader = SheetsReader(EmulatorSession(emu.base_url), settings.google)
        esas = read_esas(settings.registry.esas)
        yield Setup(tmp_path, settings, engine, emu, reader, esas, manifest.days)
    engine.dispose()


def snapshot_dates(engine: Engine, day: date, esa: Esa) -> set[date | None]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(SnapshotRow.accepted_on).where(
                SnapshotRow.report_date == day, SnapshotRow.esa_code == esa.esa_code
            )
        )
        return {row.accepted_on for row in rows}


def test_a_truncated_sheet_is_quarantined_until_the_operator_accepts_it(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The command checks the ESA against the registry of the settings it is given.
    monkeypatch.setenv("SCHOOLNET_CONFIG", str(setup.root / "schoolnet.toml"))
    first, second = setup.days[0], setup.days[1]
    setup.run(first)
    esa = setup.esas[0]
    doc = setup.sheet(esa)
    rows = doc["sheets"][0]["rows"]
    kept = (len(rows) - 1) // 3  # a clerk's sort-and-delete leaves a third of the schools
    doc["sheets"][0]["rows"] = rows[: 1 + kept]
    setup.save(esa, doc)

    results = setup.run(second)
    assert results[esa.esa_code].outcome == "quarantined"
    assert snapshot_dates(setup.engine, second, esa) == {first}  # nothing wiped
    with setup.engine.connect() as conn:
        pull = conn.execute(
            select(PullRow.outcome, PullRow.reason).where(
                PullRow.report_date == second, PullRow.esa_code == esa.esa_code
            )
        ).one()
    assert pull.outcome == "quarantined" and "พัก" in pull.reason
    tab = [sheet for sheet in setup.sheet(esa)["sheets"] if sheet["title"] == "ผลตรวจสอบ"]
    assert tab and any("quarantined" in row for row in tab[0]["rows"])

    url = f"sqlite:///{setup.root / 'warehouse.db'}"
    code = main(["quarantine", "accept", esa.esa_code, "--date", second.isoformat(), "--url", url])
    assert code == 0
    assert setup.run(second)[esa.esa_code].outcome == "accepted"
    assert second in snapshot_dates(setup.engine, second, esa)


def test_feedback_tab_is_rewritten_only_when_findings_change(setup: Setup) -> None:
    first = setup.days[0]
    setup.run(first)
    writes = setup.emulator.stats()["writes"]
    assert writes == len(setup.esas)  # one call adds the tab and writes it
    setup.run(first)
    assert setup.emulator.stats()["writes"] == writes  # same findings: nothing written

    esa = setup.esas[1]
    doc = setup.sheet(esa)
    students = doc["sheets"][0]["rows"][0].index("จำนวนนักเรียน")
    doc["sheets"][0]["rows"][4][students] = -3
    setup.save(esa, doc)
    setup.run(first)
    assert setup.emulator.stats()["writes"] == writes + 1  # one write, to that ESA only
    sheet = next(s for s in setup.sheet(esa)["sheets"] if s["title"] == "ผลตรวจสอบ")
    tab = sheet["rows"]
    assert any(row[:1] == ["5"] and "negative_value" in row for row in tab)
    # Laid out in that same call, as the contract says: the heading frozen and bold, the
    # columns at their widths, the message wrapped from the heading down.
    heading = tab.index(list(TAB_HEADER))
    assert heading == TAB_HEADING_ROW and sheet["gridProperties"]["frozenRowCount"] == heading + 1
    widths = load_contract().finding_tab_widths
    assert [c["pixelSize"] for c in sheet["columnMetadata"]] == list(widths.values())
    message = list(widths).index("message")
    assert cell_format(sheet, heading, 0) == {"textFormat": {"bold": True}}
    assert cell_format(sheet, len(tab) - 1, message) == {"wrapStrategy": "WRAP"}
    assert cell_format(sheet, 0, message) == {}  # the title and summary above spill as before


def test_feedback_digest_ignores_the_date_and_padding_clears_old_lines() -> None:
    esa = Esa("101001", "สพป.กรุงเทพมหานคร", "primary", "กรุงเทพมหานคร", "s", "a@b.c")
    finding = ResultFinding(
        esa=esa.esa_code,
        row=7,
        column="students",
        header="จำนวนนักเรียน",
        cell="C7",
        severity="error",
        code="negative_value",
        message="ช่อง จำนวนนักเรียน ติดลบไม่ได้",
        value="-3",
    )
    result = SheetResult(
        esa_code=esa.esa_code,
        spreadsheet_id=esa.spreadsheet_id,
        report_date=date(2018, 1, 3),
        api_calls=1,
        outcome="accepted",
        rows_read=2,
        rows_rejected=1,
        accepted={"x": {}},
        findings=(finding,),
    )
    next_day = result.model_copy(update={"report_date": date(2018, 1, 4)})
    one = EsaFeedback.from_result(esa, result)
    two = EsaFeedback.from_result(esa, next_day)
    assert one.digest() == two.digest()
    clean = EsaFeedback.from_result(esa, next_day.model_copy(update={"findings": ()}))
    assert clean.digest() != one.digest()
    assert "ไม่รับ 1 แถว" in one.summary
    grid = padded(clean.tab_rows(), len(one.tab_rows()), 7)
    assert len(grid) == len(one.tab_rows()) and all(len(row) == 7 for row in grid)
    assert grid[-1] == [""] * 7


def test_only_changed_sheets_are_read_and_a_replay_rebuilds_the_same_warehouse(
    setup: Setup,
) -> None:
    days = [date(2018, 1, 10), date(2018, 1, 11), date(2018, 1, 12)]
    listing = 1  # one Drive call lists up to 1,000 sheets
    setup.run(days[0], full_pull=False)  # no earlier read: every sheet is read
    assert setup.emulator.stats()["by_endpoint"].get("spreadsheets.get") == len(setup.esas)

    setup.emulator.reset()
    results = setup.run(days[1], full_pull=False)  # nothing changed (our tab writes aside)
    assert setup.emulator.stats()["reads"] == listing
    assert all(r.api_calls == 0 and r.outcome == "accepted" for r in results.values())
    # The unchanged read is validated anew: its schools' values count as today's.
    assert snapshot_dates(setup.engine, days[1], setup.esas[0]) == {days[1]}

    setup.emulator.reset()
    clerk = setup.esas[2]
    doc = setup.sheet(clerk)
    students = doc["sheets"][0]["rows"][0].index("จำนวนนักเรียน")
    doc["sheets"][0]["rows"][1][students] = 999
    doc["modifiedTime"] = "2018-01-11T03:00:00.000Z"
    doc["lastModifyingUser"] = {"me": False, "emailAddress": "clerk@esa.obec.go.th"}
    setup.save(clerk, doc)
    results = setup.run(days[2], full_pull=False)
    assert setup.emulator.stats()["reads"] == listing + 1
    assert results[clerk.esa_code].api_calls == 1
    assert sum(r.api_calls for r in results.values()) == 1

    # Replay every day from the raw landing into a fresh warehouse: the same state, no call.
    tables = ("esa", "school", "pull", "finding", "snapshot")
    original = warehouse_checksum(setup.engine, tables)
    fresh = create_warehouse_engine(f"sqlite:///{setup.root / 'replayed.db'}")
    ensure_schema(fresh)
    setup.emulator.reset()
    for day in days:
        replay(day, setup.settings, fresh)
    assert setup.emulator.stats()["reads"] == 0
    assert warehouse_checksum(fresh, tables) == original
    fresh.dispose()


def test_every_sheet_is_read_again_once_in_each_full_pull_interval(setup: Setup) -> None:
    every = 3
    setup.settings = replace(
        setup.settings, google=replace(setup.settings.google, full_pull_every_days=every)
    )
    first = date(2018, 1, 10)
    setup.run(first, full_pull=False)  # no earlier read: every sheet is read
    sheets_read = {}
    for day in (first + timedelta(days=n) for n in range(1, every + 1)):
        setup.emulator.reset()
        setup.run(day, full_pull=False)  # no sheet changed since the first read
        sheets_read[day] = setup.emulator.stats()["by_endpoint"].get("spreadsheets.get", 0)
    # Of any `every` days in a row, exactly one reads every sheet, whatever Drive says.
    assert sorted(sheets_read.values()) == [0] * (every - 1) + [len(setup.esas)], sheets_read


def test_esa_registry_kept_in_a_google_sheet(setup: Setup) -> None:
    header = ["esa_code", "esa_name", "level", "province", "spreadsheet_id", "contact_email"]
    rows = [header] + [[getattr(esa, name) for name in header] for esa in setup.esas[:2]]
    registry_id = "1" + "r" * 43
    (setup.root / "state" / "spreadsheets" / f"{registry_id}.json").write_text(
        json.dumps(
            {
                "spreadsheetId": registry_id,
                "title": "ทะเบียนเขตพื้นที่",
                "sheets": [{"sheetId": 0, "title": "esas", "rows": rows}],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    settings = replace(
        setup.settings, registry=replace(setup.settings.registry, esas_sheet=registry_id)
    )
    first, second = setup.days[0], setup.days[1]
    assert snapshot_registry(settings, first, setup.reader) == setup.esas[:2]
    assert run_esas(settings, first) == setup.esas[:2]  # every step of the run sees the same

    set_fault(setup.root / "state", registry_id, "403")
    # Unreadable the next day: the run goes on with the last copy, and says so in its log.
    assert snapshot_registry(settings, second, setup.reader) == setup.esas[:2]
    with pytest.raises(RegistryError, match="could not be read"):
        snapshot_registry(settings, date(2017, 12, 1), setup.reader)  # no earlier copy


def test_replay_command(setup: Setup, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """`schoolnet replay` as the runbook gives it: from the landing, into the settings' data."""
    day = setup.days[0]
    setup.run(day)
    monkeypatch.setenv("SCHOOLNET_CONFIG", str(setup.root / "schoolnet.toml"))
    url = f"sqlite:///{setup.root / 'replayed.db'}"
    setup.emulator.reset()
    assert main(["replay", day.isoformat(), "--url", url]) == 0
    assert setup.emulator.stats()["reads"] == 0
    out = capsys.readouterr().out
    assert f"{day.isoformat()}: re-validated and merged from the raw landing" in out
    replayed = create_warehouse_engine(url)
    assert snapshot_dates(replayed, day, setup.esas[0]) == {day}
    replayed.dispose()


@pytest.fixture
def replay_world(setup: Setup, warehouse_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Setup:
    """The setup's pipeline merging into a warehouse on each engine, its settings the
    commands'."""
    monkeypatch.setenv("SCHOOLNET_CONFIG", str(setup.root / "schoolnet.toml"))
    return replace(setup, engine=warehouse_engine)


def test_replay_refuses_dates_without_a_landing_and_changes_nothing(
    replay_world: Setup, empty_url: str, capsys: Any
) -> None:
    first, second = replay_world.days[:2]
    replay_world.run(first)
    replay_world.run(second)
    # The second day's sheets were never landed (e.g. merged by an older version).
    shutil.rmtree(replay_world.settings.storage.raw_dir(second.isoformat()))
    before = warehouse_checksum(replay_world.engine)

    assert main(["replay", first.isoformat(), second.isoformat(), "--url", empty_url]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert f"no raw landing for {second.isoformat()} " in err
    assert first.isoformat() not in err
    assert "airflow dags test" in err  # what to do instead
    assert warehouse_checksum(replay_world.engine) == before  # the good date was not replayed

    with pytest.raises(NothingLanded):
        replay(second, replay_world.settings, replay_world.engine)
    assert warehouse_checksum(replay_world.engine) == before


def test_a_partial_landing_replays_what_was_landed_and_keeps_the_rest(
    replay_world: Setup, empty_url: str, capsys: Any
) -> None:
    day = replay_world.days[0]
    replay_world.run(day)
    lost = replay_world.esas[0].esa_code
    settings = replay_world.settings
    (settings.storage.raw_dir(day.isoformat()) / f"{lost}.json").unlink()
    result_path(settings, day, lost).unlink()
    before = warehouse_checksum(replay_world.engine)
    with replay_world.engine.connect() as conn:
        accepted = conn.execute(
            select(PullRow.rows_accepted).where(PullRow.esa_code == lost)
        ).scalar_one()
    assert accepted > 0

    assert main(["replay", day.isoformat(), "--url", empty_url]) == 0
    # The ESA without a landing keeps its pull, findings and schools; the rest are rebuilt.
    assert warehouse_checksum(replay_world.engine) == before
    out = capsys.readouterr().out
    assert "1 ESAs with no landing kept as the warehouse had them" in out
    assert snapshot_dates(replay_world.engine, day, replay_world.esas[0]) == {day}


def test_esa_emails_of_failed_reads_point_to_no_tab_and_spare_the_clerk_our_outages(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = setup.days[0]
    ours, theirs, fine = setup.esas
    set_fault(setup.root / "state", ours.spreadsheet_id, "500")  # Google's outage, not the sheet's
    set_fault(setup.root / "state", theirs.spreadsheet_id, "403")  # the clerk must share it
    quick = SheetsReader(
        EmulatorSession(setup.emulator.base_url), replace(setup.settings.google, max_attempts=1)
    )
    run = replace(setup, reader=quick).run(day)
    assert run[ours.esa_code].error_code == "google_error"
    assert run[theirs.esa_code].error_code == "not_shared"
    with MailSink(setup.root / "mail") as sink:
        monkeypatch.setenv(
            "AIRFLOW_CONN_SMTP_DEFAULT",
            json.dumps(
                {
                    "conn_type": "smtp",
                    "host": "127.0.0.1",
                    "port": sink.port,
                    "extra": {"disable_ssl": True, "disable_tls": True},
                }
            ),
        )
        assert send_esa_feedback(day, setup.settings, setup.engine)["sent"] == 3
        bodies = {}
        for path in sink.messages():
            message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
            text = message.get_body(preferencelist=("plain",))
            assert text is not None
            bodies[message["To"]] = str(text.get_content())
    tab = "แท็บ ผลตรวจสอบ"
    assert tab not in bodies[ours.contact_email] and tab not in bodies[theirs.contact_email]
    assert tab in bodies[fine.contact_email]  # its tab was written: the email may point there
    assert "ไม่ต้องแก้ไขอะไร" in bodies[ours.contact_email]
    assert "Google" not in bodies[ours.contact_email]
    assert "กรุณาแชร์ชีต" in bodies[theirs.contact_email]  # the clerk's to fix, said as before
    quota = EsaFeedback.from_result(
        ours,
        SheetResult(
            esa_code=ours.esa_code,
            spreadsheet_id=ours.spreadsheet_id,
            report_date=day,
            api_calls=1,
            outcome="failed",
            error_code="quota",
            reason="เกินโควตา",
            rows_read=0,
            rows_rejected=0,
        ),
    )
    assert "โควตา" not in quota.summary


def test_a_past_date_plan_replays_its_landing_keeps_the_rest_and_calls_no_google(
    replay_world: Setup,
) -> None:
    first, second, third = replay_world.days
    replay_world.run(first)
    replay_world.run(second)
    settings = replay_world.settings
    lost = replay_world.esas[0]
    (settings.storage.raw_dir(first.isoformat()) / f"{lost.esa_code}.json").unlink()
    before = warehouse_checksum(replay_world.engine)
    replay_world.emulator.reset()

    esas = past_registry(settings, first)
    assert esas == run_esas(settings, first)  # the registry that date's run kept
    plan = plan_replay(esas, first, settings)
    assert {entry.esa.esa_code: entry.action for entry in plan} == {
        esa.esa_code: "keep" if esa == lost else "replay" for esa in replay_world.esas
    }
    keep = replay_keep(settings, first)
    assert keep == {lost.esa_code}
    schools = load_school_registry(settings)
    summaries = [
        replay_pull(entry.esa, first, settings, schools, replay_world.engine)
        for entry in plan
        if entry.action == "replay"
    ]
    assert {summary.outcome for summary in summaries} == {"accepted"}
    merge(first, settings, replay_world.engine, keep=keep)
    assert warehouse_checksum(replay_world.engine) == before
    assert replay_world.emulator.stats()["reads"] == 0

    # A date never run: nothing landed, nothing to keep, and its registry is the newest kept
    # before it (the first day's), kept for it from now on.
    assert replay_keep(settings, third) is None
    assert {entry.action for entry in plan_replay(esas, third, settings)} == {"keep"}
    assert past_registry(settings, third) == run_esas(settings, second)
    assert run_pulls_of(replay_world.engine, third) == 0


def run_pulls_of(engine: Engine, day: date) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(PullRow.esa_code).where(PullRow.report_date == day)).all())
