"""``schoolnet demo``: the whole national daily run on one machine, with embedded defaults.

It makes the national demo data set (with clerk mistakes and three sheets that cannot be used on
its last day, unless ``--messy 0``), serves its sheets from the local Sheets emulator, starts a
local SMTP server that keeps what it receives, and runs the real ``schoolnet_daily`` DAG once for
the report date with Airflow's ``dags test`` (a whole DagRun, in process, no scheduler). Then it
stops what it started and says what the day produced and where the results are.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from schoolnet.core.cliargs import database_url, iso_date, messy_rate
from schoolnet.core.paths import project_root
from schoolnet.devtools.demo.generate import DEMO_MESSY_RATE
from schoolnet.devtools.demosetup import (
    DEMO_QUOTA_PER_MINUTE,
    demo_airflow,
    demo_settings,
    demo_warehouse_url,
    ensure_demo_data,
    say,
)
from schoolnet.orchestration.airflow_glue import TIMEZONE
from schoolnet.orchestration.tasks import DAG_ID


def demo_day(days: Sequence[date], requested: date | None) -> date:
    """The report date the demo runs: ``requested``, whose sheets the data set must hold,
    or its last day. A date outside the data set is refused before anything starts, rather
    than run on another day's sheets or on none."""
    if requested is None:
        return days[-1]
    if requested not in days:
        raise RuntimeError(
            f"the demo data set has no sheets for {requested.isoformat()}: it holds "
            f"{days[0].isoformat()} to {days[-1].isoformat()}; give --date one of those days, "
            f"or leave --date out for {days[-1].isoformat()}"
        )
    return requested


def load_demo_sheets(emulator_state: Path, demo_data: Path, day: date) -> int:
    """Make the emulator hold the sheets as they stood on the morning of ``day``; how many.

    When they already do (an earlier demo of the same day), what the runs wrote since (the
    feedback tabs) is kept, as Google would keep it.
    """
    from schoolnet.devtools.emulator.state import load_day

    marker = emulator_state / "loaded-day.txt"
    manifest = demo_data / "manifest.json"
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest()[:16] if manifest.exists() else ""
    loaded_as = f"{day.isoformat()} {digest}"  # the same day of another data set is reloaded
    if marker.exists() and marker.read_text(encoding="utf-8").strip() == loaded_as:
        return len(list((emulator_state / "spreadsheets").glob("*.json")))
    loaded = load_day(emulator_state, demo_data, day)
    marker.write_text(loaded_as, encoding="utf-8")
    return loaded


def run_dag_with_progress(
    airflow: Any,
    report_date: date,
    validated_dir: Path,
    esa_total: int,
    log: Path,
    conf: dict[str, Any] | None = None,
) -> None:
    """Run the DAG once and report how many ESAs are done while it runs."""
    logical = datetime(
        report_date.year, report_date.month, report_date.day, 6, tzinfo=ZoneInfo(TIMEZONE)
    )
    command = [
        str(Path(sys.executable).with_name("airflow")),
        "dags",
        "test",
        DAG_ID,
        logical.isoformat(),
    ]
    if conf:
        command += ["--conf", json.dumps(conf)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as stream:
        process = subprocess.Popen(
            command, env=airflow.environment(), stdout=stream, stderr=subprocess.STDOUT
        )
        shown = -1
        started = time.time()
        while process.poll() is None:
            done = sum(
                1
                for path in (validated_dir.glob("*.json") if validated_dir.exists() else ())
                if path.stat().st_mtime >= started
            )
            if done != shown and (done == esa_total or done - shown >= 25 or shown < 0):
                say(f"pulling and validating sheets: {done} of {esa_total} ESAs done")
                shown = done
            time.sleep(1.0)
    output = log.read_text(encoding="utf-8")
    if process.returncode != 0 or "state=failed" in output.lower():
        tail = "\n".join(output.strip().splitlines()[-30:])
        raise RuntimeError(f"the DAG run failed; full log in {log}\n{tail}")


WAREHOUSE_VARIABLE = "AIRFLOW_CONN_SCHOOLNET_WAREHOUSE"


def shown_url(url: str) -> str:
    """A SQLAlchemy URL as it may be printed: its password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _defined_warehouse(value: str) -> str:
    """The warehouse URL an ``AIRFLOW_CONN_...`` variable describes (JSON or a URI), as shown.
    The JSON of ``schoolnet env`` with a ``sqlalchemy_url`` is read without importing Airflow."""
    try:
        if value.lstrip().startswith("{"):
            extra = json.loads(value).get("extra") or {}
            if isinstance(extra, dict) and extra.get("sqlalchemy_url"):
                return shown_url(str(extra["sqlalchemy_url"]))
        from airflow.models.connection import Connection

        from schoolnet.operations.connections import sqlalchemy_url

        conn = (
            Connection.from_json(value, conn_id="schoolnet_warehouse")
            if value.lstrip().startswith("{")
            else Connection(conn_id="schoolnet_warehouse", uri=value)
        )
        return shown_url(sqlalchemy_url(conn))
    except Exception:  # noqa: BLE001  # unreadable: it is only named in a note, never used
        return "a connection the demo cannot read"


def demo_warehouse(
    out: Path, requested: str | None, environ: Mapping[str, str]
) -> tuple[str, str | None]:
    """The warehouse the demo uses, every step of it: ``requested`` (``--warehouse``), else its
    own ``out/warehouse.db``; and a note when the environment defines another warehouse
    connection, which the demo does not use: it writes invented schools and two weeks of
    history, which must reach only a warehouse chosen for the demo, never one a shell happens
    to point at."""
    url = requested or demo_warehouse_url(out)
    defined = environ.get(WAREHOUSE_VARIABLE)
    if not defined:
        return url, None
    named = _defined_warehouse(defined)
    if named == shown_url(url):
        return url, None
    if requested:
        return url, (
            f"{WAREHOUSE_VARIABLE} in this shell names {named}; the demo does not use it: it "
            "uses the warehouse --warehouse names"
        )
    return url, (
        f"{WAREHOUSE_VARIABLE} in this shell names {named}; the demo does not use it: it "
        "writes invented schools and two weeks of history, so it uses its own warehouse unless "
        "--warehouse URL names another"
    )


def announce_warehouse(out: Path, requested: str | None, environ: Mapping[str, str]) -> str:
    """The warehouse the demo uses (``demo_warehouse``), said before anything starts."""
    url, note = demo_warehouse(out, requested, environ)
    say(f"warehouse: {shown_url(url)}")
    if note:
        say(note)
    return url


@dataclass(frozen=True)
class DemoRun:
    """What the DAG run left to tell: the mail it sent and the Google calls it made."""

    new_mail: list[Path]
    emulator_stats: dict[str, Any]


@dataclass(frozen=True)
class DaySummary:
    """The day as the report counts it: what the ESAs have to fix and whom to follow up."""

    findings: int
    rows_rejected: int
    esas_with_findings: int
    flagged: int
    unusable: int  # flagged because the sheet could not be read or used today
    stale: int  # flagged because the sheet has not changed for `stale_after_days`
    outcomes: dict[str, int]  # ESAs per pull outcome (accepted, rejected, quarantined, failed)
    gained: int | None = None  # schools connected since the previous report (None: none)
    lost: int = 0  # schools that lost their connection since the previous report
    lost_recently: int = 0  # ... over the report's last days, once each
    reconnected: int = 0  # of those, connected again
    lost_window_days: int = 7
    # Warnings on a value the school's own history makes implausible, and the ESAs warned
    implausible: int = 0
    implausible_esas: int = 0


# The findings of a value against the school's own history (docs/validation.md).
HISTORY_CODES = ("implausible_change", "speed_beyond_link_type")


def run_demo(args: argparse.Namespace) -> int:
    if getattr(args, "live", False):
        from schoolnet.devtools.livedemo import run_live_demo

        if getattr(args, "warehouse", None):
            raise RuntimeError(
                "--warehouse is for the daily demo: --live keeps its own warehouse in out/live/"
            )
        return run_live_demo(args)
    root = project_root()
    out = root / "out"
    demo_data = out / "demo-data"
    started = time.monotonic()
    warehouse_url = announce_warehouse(out, getattr(args, "warehouse", None), os.environ)

    say("stage 1/5: demo data")
    manifest = ensure_demo_data(demo_data, args.seed, args.messy)
    # The report of the day the loaded sheets stand for, so that the days since MOENet, each
    # sheet's days since its last update and the progress read as they would on that morning.
    report_date = demo_day(manifest.days, args.date)

    say(f"stage 2/5: loading the sheets of {report_date.isoformat()} into the Sheets emulator")
    loaded = prepare_morning(root, out, demo_data, manifest.days, report_date, warehouse_url)
    run = run_morning(
        root, out, report_date, manifest.esa_count, loaded, warehouse_url, resend=args.resend
    )

    say("stage 5/5: results")
    summary = day_summary(root, out, report_date, warehouse_url)
    tell_results(out, report_date, run, summary, warehouse_url)
    say(f"Airflow log: {out / 'logs'}; done in {time.monotonic() - started:.0f}s")
    record = {
        "report_date": report_date.isoformat(),
        "emulator": run.emulator_stats,
        "emails": [str(p) for p in run.new_mail],
        "day": asdict(summary),
    }
    (out / "demo-summary.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return 0


def prepare_morning(
    root: Path,
    out: Path,
    demo_data: Path,
    days: Sequence[date],
    report_date: date,
    warehouse_url: str,
) -> int:
    """The emulator holding the sheets of ``report_date``'s morning (shared or not as that day
    says), and the warehouse at ``warehouse_url`` holding the data set's earlier mornings; how
    many sheets."""
    from schoolnet.devtools.emulator.state import morning_of, set_clock

    emulator_state = out / "emulator"
    loaded = load_demo_sheets(emulator_state, demo_data, report_date)
    # What the emulator stamps (the feedback tabs) falls on the report date's morning.
    set_clock(emulator_state, morning_of(report_date))
    history = [day for day in days if day < report_date]
    if not history:
        return loaded
    from schoolnet.core.config import load_settings
    from schoolnet.devtools.demohistory import seed_history
    from schoolnet.warehouse import create_warehouse_engine

    engine = create_warehouse_engine(warehouse_url)
    try:
        seeded = seed_history(load_settings(demo_settings(root, out)), engine, demo_data, history)
    finally:
        engine.dispose()
    say(
        f"earlier mornings: the data set's {len(history)} days before "
        f"{report_date.isoformat()} are in the warehouse ({seeded} merged now), "
        "for the progress chart"
    )
    return loaded


def run_morning(
    root: Path,
    out: Path,
    report_date: date,
    esa_count: int,
    loaded: int,
    warehouse_url: str,
    *,
    resend: bool,
) -> DemoRun:
    """Serve the sheets and an SMTP server on loopback, run the DAG once for ``report_date``
    in a project-local Airflow merging into ``warehouse_url``, and stop both whatever
    happens."""
    from schoolnet.devtools.emulator import Emulator
    from schoolnet.devtools.mailsink import MailSink

    emulator = Emulator(
        out / "emulator",
        read_quota_per_minute=DEMO_QUOTA_PER_MINUTE,
        write_quota_per_minute=DEMO_QUOTA_PER_MINUTE,
    )
    mail_dir = out / "mail"
    sink = MailSink(mail_dir)
    emulator_url = emulator.start()
    try:
        sink.start()
        say(f"Sheets emulator at {emulator_url} serving {loaded} sheets")
        say(f"SMTP server at 127.0.0.1:{sink.port}, keeping what it receives in {mail_dir}")
        airflow = demo_airflow(
            root, out, emulator_url=emulator_url, smtp_port=sink.port, warehouse_url=warehouse_url
        )
        say("stage 3/5: preparing the project-local Airflow (metadata database, pool)")
        airflow.prepare()
        say(f"stage 4/5: running DAG {DAG_ID} for {report_date.isoformat()}")
        before = len(sink.messages())
        run_dag_with_progress(
            airflow,
            report_date,
            out / "data" / "validated" / report_date.isoformat(),
            esa_count,
            out / "logs" / f"dags-test-{report_date.isoformat()}.log",
            conf={"force_resend": True} if resend else None,
        )
        stats = emulator.stats()
    finally:
        sink.stop()
        emulator.stop()
    return DemoRun(new_mail=sink.messages()[before:], emulator_stats=stats)


def day_summary(root: Path, out: Path, report_date: date, warehouse_url: str) -> DaySummary:
    """The day's figures as the report computes them from the warehouse."""
    from schoolnet.core.config import load_settings
    from schoolnet.report.daily import build_report
    from schoolnet.validation.result import read_result
    from schoolnet.warehouse import create_warehouse_engine

    settings = load_settings(demo_settings(root, out))
    engine = create_warehouse_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            report = build_report(conn, report_date, settings.report.stale_after_days)
    finally:
        engine.dispose()
    validated = settings.storage.validated_dir(report_date.isoformat())
    results = [
        result
        for path in sorted(validated.glob("*.json"))
        if (result := read_result(settings, report_date, path.stem)) is not None
    ]
    outcomes = Counter(result.outcome for result in results)
    implausible = [
        sum(1 for finding in result.findings if finding.code in HISTORY_CODES) for result in results
    ]
    flagged = report.flagged_esas
    return DaySummary(
        findings=report.open_findings,
        rows_rejected=report.rows_rejected,
        esas_with_findings=len(report.quality_esas),
        flagged=len(flagged),
        unusable=sum(1 for line in flagged if line.unreadable),
        stale=sum(1 for line in flagged if not line.unreadable),
        outcomes=dict(sorted(outcomes.items())),
        gained=report.gained,
        lost=len(report.lost),
        lost_recently=len(report.lost_recently),
        reconnected=len(report.reconnected),
        lost_window_days=report.lost_window_days,
        implausible=sum(implausible),
        implausible_esas=sum(1 for count in implausible if count),
    )


def tell_results(
    out: Path, report_date: date, run: DemoRun, summary: DaySummary, warehouse_url: str
) -> None:
    """Say what the day produced and where to look."""
    from schoolnet.devtools.pictures import write_preview
    from schoolnet.report.files import MANIFEST

    mail_dir = out / "mail"
    report_mail = [p for p in run.new_mail if ".report." in p.name]
    feedback_mail = [p for p in run.new_mail if ".esa-" in p.name]
    report_folder = out / "report" / report_date.isoformat()
    preview = write_preview(report_folder) if (report_folder / MANIFEST).exists() else None
    say(
        f"the day:   {summary.findings:,} findings and {summary.rows_rejected:,} rejected rows "
        f"in {summary.esas_with_findings:,} ESAs' sheets; {summary.flagged:,} ESAs flagged "
        f"({summary.unusable:,} sheets not read or not used today, {summary.stale:,} not "
        "updated lately)"
    )
    if summary.gained is not None:
        say(
            f"schools:   {summary.gained:+,d} connected and -{summary.lost:,d} lost their "
            f"connection since the previous report; {summary.lost_recently:,} lost it over the "
            f"last {summary.lost_window_days} days ({summary.reconnected:,} connected again)"
        )
    if summary.implausible:
        say(
            f"history:   {summary.implausible:,} values implausible against the school's own "
            f"history (a tenfold jump, a dropped digit, a speed beyond its link) in "
            f"{summary.implausible_esas:,} ESAs' sheets: warnings, the rows accepted"
        )
    say(
        "sheets:    "
        + ", ".join(f"{count:,} {outcome}" for outcome, count in summary.outcomes.items())
    )
    say(f"report:    {preview or report_folder} (open in a browser)")
    say(f"files:     {report_folder} (report PDF, Excel workbook, chart images)")
    if report_mail:
        say(f"email:     {report_mail[-1]}")
    else:
        say(
            f"email:     none sent this time: the report for {report_date.isoformat()} was "
            f"already sent (see {mail_dir}); `schoolnet demo --resend` sends it again"
        )
    say(
        f"feedback:  {len(feedback_mail)} ESA feedback emails in {mail_dir}; each sheet's "
        "findings are also in its ผลตรวจสอบ tab (out/emulator/spreadsheets/)"
    )
    say(f"warehouse: {shown_url(warehouse_url)}")
    stats = run.emulator_stats
    say(
        f"Google API calls served by the emulator: {stats.get('reads', 0)} reads, "
        f"{stats.get('writes', 0)} writes"
    )


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "demo", help="run the whole national daily run locally (emulator, SMTP, SQLite)"
    )
    parser.add_argument("--seed", type=int, default=2018, help="demo data seed (default 2018)")
    parser.add_argument(
        "--date",
        type=iso_date,
        default=None,
        help=(
            "report date: one of the demo data set's days, whose sheets are loaded "
            "(default: its last day)"
        ),
    )
    parser.add_argument(
        "--messy",
        type=messy_rate,
        default=DEMO_MESSY_RATE,
        metavar="RATE",
        help=(
            "share of sheet rows with a clerk mistake, 0..1 (default %(default)s); above 0 a few "
            "sheets also cannot be used on the last day; 0 makes a clean data set"
        ),
    )
    parser.add_argument(
        "--resend",
        action="store_true",
        help=(
            "send the report and every ESA's feedback email again, even if they were already "
            "sent for the date"
        ),
    )
    parser.add_argument(
        "--warehouse",
        type=database_url,
        default=None,
        metavar="URL",
        help=(
            "the warehouse's SQLAlchemy URL (default: out/warehouse.db); the environment's "
            f"{WAREHOUSE_VARIABLE} is not used"
        ),
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="show near-live feedback: a clerk's mistake in the sheet's tab minutes later",
    )
    parser.add_argument(
        "--again",
        action="store_true",
        help=(
            "with --live: run the near-live check once more over what the last demo --live "
            "left in out/live (after editing a sheet with schoolnet emulator edit)"
        ),
    )
    parser.set_defaults(handler=run_demo)
