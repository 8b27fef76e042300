"""The runbook, run as written in a checkout: every ``console`` line of ``docs/operations.md``,
in the doc's order, by ``bash -c`` in the checkout's folder, after the section "In a checkout"'s
one line (``eval "$(.venv/bin/schoolnet env)"``) and with its servers started by the command
that section gives.

The checkout is a small one laid out as ``make demo`` leaves it: the demo data set (the two ESAs
the runbook names, 3 to 5 January 2018) in ``out/demo-data/``, its last morning's sheets in
``out/emulator/``, the earlier mornings merged into ``out/warehouse.db`` by the demo's own
``prepare_morning``, and ``.airflow/`` migrated with the pool set by ``LocalAirflow.prepare`` and
the DAG serialized (what the demo's own DAG run leaves; the run itself is skipped, it costs a
minute). ``dags``, ``plugins``, ``config``, ``sql``, ``templates`` and ``.venv`` are links to the
project's: read, never written. ``SCHOOLNET_HOME`` names the folder, since the installed package
would otherwise take the project's own checkout for it; every file a line changes (the ESA
registry, keys, the warehouse, exports) is the test's copy.

The env line runs once, and every line then runs in the environment it left, as in the
operator's shell (a fresh ``bash -c`` each, so one line's shell state never reaches the next).

``EXPECTED`` says, for each line, what the doc leads an operator to expect there: exit 0, or an
exit code and the words of the one plain line the command prints. A runbook line with no entry
fails the test, and so does an entry whose line left the runbook.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from schoolnet.devtools.checkout import EMULATOR_PORT, SMTP_PORT, checkout_airflow
from schoolnet.devtools.demo import generate
from schoolnet.devtools.demosetup import demo_warehouse_url
from schoolnet.devtools.rundemo import prepare_morning
from tests.ports import holding_ports
from tests.unit.operations.test_runbook import RUNBOOK, checkout_lines, console_lines

ROOT = Path(__file__).resolve().parents[2]
LINKED = ("dags", "plugins", "config", "sql", "templates")
ESAS = ("105201", "105202")  # the ESAs the runbook's examples name
DAYS = 3  # 3, 4 and 5 January 2018: the dates the runbook's examples run
LINE_TIMEOUT_SECONDS = 600  # one `airflow dags test` took 55 s on an idle machine


@dataclass(frozen=True)
class Expect:
    """Each exit code the line may end with, and the words of the one line it then prints
    (on either stream; "" when nothing is asked of its output)."""

    exits: dict[int, str] = field(default_factory=dict)
    dag_run: bool = False
    mentions: str = ""  # said anywhere in the output, log records included


def ok(says: str = "") -> Expect:
    return Expect({0: says})


def refused(code: int, says: str) -> Expect:
    return Expect({code: says})


# An `airflow dags test` line: Airflow ran schoolnet_daily's DagRun to its end, no traceback
# passes through schoolnet's own code, and the run ended as the runbook says. The checkout's
# "today" is its emulator's day (5 January); 4 January is a past date whose morning the demo
# merged without reporting it, so its run replays nothing (nothing was landed), changes
# nothing, sends nothing unasked and ends failed saying the report was never sent; with
# `force_resend` it sends that report and is green.
PAST_DATE_NEVER_SENT = Expect(
    {1: "DagRun failed"}, dag_run=True, mentions="the report of 2018-01-04 was never sent"
)
PAST_DATE_RESENT = Expect({0: ""}, dag_run=True, mentions="report for 2018-01-04 sent to")

NOT_SENT = "has not been sent"
EXPECTED: dict[str, Expect] = {
    "schoolnet runs show 2018-01-04": ok("run of 2018-01-04: 2 ESAs"),
    # The example's sheet id is no sheet of the emulator: `--check` reads it, adds nothing.
    'schoolnet esa add --code 105007 --name "สพป.เชียงใหม่ เขต 7" --province เชียงใหม่ '
    "--level primary --sheet-id 1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFG "
    "--contact it@cm7.obec.go.th --check": refused(1, "cannot be read with"),
    # ... so ESA 105007 is not there to update.
    "schoolnet esa update 105007 --sheet-id 1ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210zyxWVU "
    '--contact it2@cm7.obec.go.th --reason "ชีตใหม่ของเขต"': refused(
        1, "ESA code 105007 is not in the registry"
    ),
    'schoolnet esa retire 105202 --reason "ยุบรวมกับ สพป.เชียงใหม่ เขต 1"': ok("stay in the warehouse"),
    "schoolnet esa list": ok("1 ESAs in the registry; outcomes of 2018-01-04"),
    "schoolnet esa list --date 2018-01-04": ok("1 ESAs in the registry; outcomes of 2018-01-04"),
    "schoolnet esa list --stale": ok("1 ESAs in the registry; outcomes of 2018-01-04"),
    "schoolnet esa list --stale --date 2018-01-04": ok(
        "1 ESAs in the registry; outcomes of 2018-01-04"
    ),
    "schoolnet sheets provision 105201": ok("105201"),
    "schoolnet sheets provision 105201 --create": ok("105201"),
    # 105202 was retired above: the registry the line names no longer lists it.
    "schoolnet sheets provision 105201 105202 --registry-dir out/demo-data "
    "--emulator-url http://127.0.0.1:8787": refused(1, "not in the ESA registry: 105202"),
    "schoolnet service-account rotate new-key.json": refused(1, "new-key.json"),
    "schoolnet service-account verify": ok("sheet"),
    "schoolnet service-account verify --esa 105201": ok("ESA 105201: sheet"),
    # The checkout's Google connection is the emulator's, set by the environment: no key.
    "schoolnet service-account rollback": refused(1, "AIRFLOW_CONN_SCHOOLNET_GOOGLE"),
    "airflow connections delete schoolnet_google_previous": refused(
        1, "Did not find a connection with `conn_id`=schoolnet_google_previous"
    ),
    "airflow dags trigger schoolnet_daily --logical-date 2018-01-04T06:00:00+07:00": ok(),
    "airflow tasks clear schoolnet_daily --start-date 2018-01-04T06:00:00+07:00 "
    "--end-date 2018-01-04T06:00:00+07:00 --yes": ok(),
    "airflow dags test schoolnet_daily 2018-01-04T06:00:00+07:00": PAST_DATE_NEVER_SENT,
    "airflow dags test schoolnet_daily 2018-01-04T06:00:00+07:00 "
    "--conf '{\"full_pull\": true}'": PAST_DATE_NEVER_SENT,
    "airflow dags trigger schoolnet_daily --logical-date 2018-01-05T06:00:00+07:00 "
    "--conf '{\"full_pull\": true}'": ok(),
    "airflow backfill create --dag-id schoolnet_daily --from-date 2018-01-05T06:00:00+07:00 "
    "--to-date 2018-01-07T06:00:00+07:00 --reprocess-behavior completed": ok(),
    # The example's ESA was not quarantined on that date here: nothing to accept.
    "schoolnet quarantine accept 105201 --date 2018-01-04": refused(
        1, "was not quarantined on 2018-01-04"
    ),
    # The demo's earlier mornings were merged without a raw landing: nothing is replayed.
    "schoolnet replay 2018-01-03 2018-01-04 2018-01-05": refused(1, "nothing replayed"),
    "schoolnet report status 2018-01-04": Expect({0: "report: sent", 1: NOT_SENT}),
    "schoolnet report status 2018-01-04 --all": Expect({0: "report: sent", 1: NOT_SENT}),
    "airflow dags test schoolnet_daily 2018-01-04T06:00:00+07:00 "
    "--conf '{\"force_resend\": true}'": PAST_DATE_RESENT,
    'airflow pools set google_sheets 4 "Concurrent Google Sheets API calls"': ok(),
    "schoolnet export 2018-01-04 --format csv": ok("snapshot-2018-01-04.csv"),
    "schoolnet export 2018-01-04 --format parquet --out exports/": ok(
        "written to exports/snapshot-2018-01-04.parquet"
    ),
    # No server called `host` answers here.
    "schoolnet export 2018-01-04 --format csv --out day.csv --url postgresql://user@host/db": (
        refused(1, "the warehouse refused or did not answer: failed to resolve host 'host'")
    ),
    "schoolnet db upgrade": ok("already at revision"),
    "schoolnet db upgrade --url sqlite:///out/warehouse.db": ok("already at revision"),
}

# A log record (Airflow's logging, set up once a command imports it), not a line of the command's.
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\dT\S+ \[\w+ *\] ")
SCHOOLNET_FRAME = re.compile(r'^\s*File "[^"]*/schoolnet/[^"]*", line \d+', re.MULTILINE)
# A task's deliberate failure, its reason said (a broken file, a run that did not do its job):
# Airflow logs it with its traceback, as it logs a crash.
DELIBERATE = "airflow.sdk.exceptions.AirflowFailException: "


def crashes(output: str) -> list[str]:
    """The exception line of each traceback through schoolnet's code that is not a task's
    deliberate failure."""
    found = []
    for block in output.split("Traceback (most recent call last):")[1:]:
        lines = block.splitlines()
        end = next((i for i, text in enumerate(lines) if text and not text[0].isspace()), None)
        frames = "\n".join(lines[: end if end is not None else len(lines)])
        raised = lines[end] if end is not None else ""
        if SCHOOLNET_FRAME.search(frames) and not raised.startswith(DELIBERATE):
            found.append(raised)
    return found


DAG_FINISHED = "DagRun Finished: dag_id=schoolnet_daily"


def check(expect: Expect, code: int, output: str) -> str | None:
    """What is wrong with a line's result, or None."""
    if expect.mentions and expect.mentions not in output:
        return f"nothing says {expect.mentions!r}"
    if expect.dag_run:
        if DAG_FINISHED not in output:
            return "Airflow did not run schoolnet_daily to its end"
        if crashes(output):
            return f"a traceback through schoolnet's code: {crashes(output)[0]}"
        if not expect.exits:
            return None
    elif "Traceback" in output:
        return "a traceback"
    if code not in expect.exits:
        return f"exit code {code}, expected {sorted(expect.exits)}"
    says = expect.exits[code]
    lines = [text for text in output.splitlines() if not LOG_RECORD.match(text)]
    if says and sum(says in text for text in lines) != 1:
        return f"not one line saying {says!r}"
    return None


def test_every_runbook_line_has_an_expectation() -> None:
    lines = console_lines(RUNBOOK.read_text(encoding="utf-8"))
    assert sorted(set(lines) - set(EXPECTED)) == [], "a runbook line without an expectation"
    assert sorted(set(EXPECTED) - set(lines)) == [], "an expectation for no runbook line"


def test_a_line_is_judged_by_its_expectation() -> None:
    assert check(ok(), 0, "done") is None
    assert check(ok("done"), 0, "2018-01-04T05:40:32.3Z [info     ] done\ndone") is None
    assert check(ok(), 1, "done") == "exit code 1, expected [0]"
    assert check(refused(1, "no such"), 1, "schoolnet x: no such file") is None
    assert check(refused(1, "no such"), 1, "no such\nno such") is not None
    assert check(ok(), 0, 'Traceback (most recent call last):\n  File "a.py"') is not None
    frame = 'Traceback (most recent call last):\n  File "/x/plugins/schoolnet/tasks.py", line 3'
    run = Expect({1: "DagRun failed"}, dag_run=True, mentions="never sent")
    said = "x [error] the report of 2018-01-04 was never sent"
    assert check(run, 1, f"{said}\n{DAG_FINISHED}, state=failed\nDagRun failed") is None
    assert check(run, 0, f"{said}\n{DAG_FINISHED}") == "exit code 0, expected [1]"
    assert check(run, 1, f"{DAG_FINISHED}\nDagRun failed") == "nothing says 'never sent'"
    crash = f"{frame}\nKeyError: 'esa_code'"
    assert check(run, 1, f"{said}\n{crash}\n{DAG_FINISHED}\nDagRun failed") is not None
    deliberate = f"{frame}\n{DELIBERATE}the report of 2018-01-04 was never sent"
    assert check(run, 1, f"{deliberate}\n{DAG_FINISHED}\nDagRun failed") is None
    assert check(run, 1, f"{said}\nairflow: error") is not None


# --- the checkout --------------------------------------------------------------------------------


def make_checkout(root: Path) -> dict[str, str]:
    """A small checkout after ``make demo``; the environment of a shell opened in it."""
    for name in LINKED:
        (root / name).symlink_to(ROOT / name)
    (root / ".venv").symlink_to(Path(sys.executable).parent.parent)
    shell = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AIRFLOW", "SCHOOLNET", "PYTEST"))
    }
    shell["SCHOOLNET_HOME"] = str(root)
    venv_bin = str(Path(sys.executable).parent)  # the env line must put it on the PATH itself
    shell["PATH"] = os.pathsep.join(
        part for part in shell.get("PATH", "/usr/bin:/bin").split(os.pathsep) if part != venv_bin
    )
    out = root / "out"
    manifest = generate(out / "demo-data", esa_codes=ESAS, days=DAYS)
    prepare_morning(
        root, out, out / "demo-data", manifest.days, manifest.days[-1], demo_warehouse_url(out)
    )
    airflow = checkout_airflow()
    airflow.prepare()
    airflow.airflow("dags", "reserialize")
    return shell


@pytest.fixture
def checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, dict[str, str]]]:
    root = tmp_path / "checkout"
    root.mkdir()
    monkeypatch.setenv("SCHOOLNET_HOME", str(root))  # the demo's functions make it here
    shell = make_checkout(root)
    yield root, shell


@pytest.fixture
def servers(checkout: tuple[Path, dict[str, str]]) -> Iterator[str]:
    """The section's servers, started by its own command line, stopped by their process id,
    on the runbook's ports (held from any other test that starts them)."""
    root, shell = checkout
    (line,) = [text for text in checkout_lines() if text.endswith("demo-servers")]
    with holding_ports(EMULATOR_PORT, SMTP_PORT):
        process = subprocess.Popen(
            ["bash", "-c", f"exec {line}"],
            cwd=root,
            env=shell,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            said = []
            assert process.stdout is not None
            for text in process.stdout:
                said.append(text)
                if text.startswith("until Ctrl-C"):
                    break
            else:
                pytest.fail(f"{line} did not start:\n{''.join(said)}")
            yield line
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def environment_after(line: str, root: Path, shell: dict[str, str]) -> dict[str, str]:
    """The shell's environment once ``line`` (the section's env line) has run in it."""
    completed = subprocess.run(
        ["bash", "-c", f"{line} && env -0"],
        cwd=root,
        env=shell,
        capture_output=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    assert completed.stderr == b"", completed.stderr.decode()  # make demo's files are there
    pairs = (item.split("=", 1) for item in completed.stdout.decode().split("\0") if item)
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


@pytest.mark.usefixtures("servers")
def test_every_runbook_line_runs_as_written_in_a_checkout(
    checkout: tuple[Path, dict[str, str]],
) -> None:
    root, shell = checkout
    (env_line,) = [text for text in checkout_lines() if text.startswith("eval ")]
    environment = environment_after(env_line, root, shell)
    assert environment["AIRFLOW_HOME"] == str(root / ".airflow")
    failures = []
    timings = []
    for line in console_lines(RUNBOOK.read_text(encoding="utf-8")):
        started = time.monotonic()
        completed = subprocess.run(
            ["bash", "-c", line],
            cwd=root,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=LINE_TIMEOUT_SECONDS,
        )
        timings.append(f"{time.monotonic() - started:6.1f}s  {line[:90]}")
        output = completed.stdout + completed.stderr
        problem = check(EXPECTED[line], completed.returncode, output)
        if problem:
            tail = "\n".join(output.strip().splitlines()[-15:])
            failures.append(f"$ {line}\n-> {problem} (exit {completed.returncode})\n{tail}")
    print("\n".join(timings))
    assert not failures, "\n\n".join(failures)
    # The lines acted on the checkout's copies: the registry it names, files in its folder.
    assert "105202" not in (root / "out" / "demo-data" / "esas.csv").read_text(encoding="utf-8")
    assert (root / "snapshot-2018-01-04.csv").exists()
