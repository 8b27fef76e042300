"""``schoolnet demo-ui`` as an operator runs it: Airflow standalone on the demo answers on the
port the command reports, the triggerer watches Drive for the feedback DAG, no report is
scheduled by itself, and SIGTERM (or Ctrl-C) stops every process it started."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from schoolnet.devtools.demo import generate
from schoolnet.devtools.emulator import load_day
from tests.ports import airflow_log_server_ports

BIN = Path(sys.executable).parent


def session_members(session: int) -> list[str]:
    """The live processes of a session (from /proc), as "pid command"."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        command, fields = stat.split(" (", 1)[1].rsplit(")", 1)
        state, _ppid, _group, sid = fields.split()[:4]
        if int(sid) == session and state != "Z":
            members.append(f"{entry.name} {command}")
    return members


def test_demo_ui_starts_airflow_on_the_demo_and_stops_everything(tmp_path: Path) -> None:
    out = tmp_path / "out"
    manifest = generate(out / "demo-data", esa_limit=2, days=1)
    load_day(out / "emulator", out / "demo-data", manifest.days[0])
    environment = {k: v for k, v in os.environ.items() if k != "PATH"}
    environment["PATH"] = "/usr/bin:/bin"  # as a new shell has it: no .venv/bin
    environment.update(airflow_log_server_ports())  # another test may run Airflow beside it
    command = subprocess.Popen(
        [
            *(str(BIN / "schoolnet"), "demo-ui", "--port", "0"),  # any free port
            *("--out", str(out), "--airflow-home", str(tmp_path / "airflow")),
        ],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # everything it starts is in this session
    )
    assert command.stdout is not None
    said = []
    try:
        for line in command.stdout:
            said.append(line)
            if "Airflow UI at " in line:
                break
        url = said[-1].split("Airflow UI at ", 1)[1].strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), "".join(said)
        with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=30) as answer:
            health = json.load(answer)
        assert health["metadatabase"]["status"] == "healthy"
        assert set(health) >= {"scheduler", "dag_processor", "triggerer"}
        # The feedback DAG is unpaused and the triggerer runs its watch of Drive.
        for line in command.stdout:
            said.append(line)
            if "the triggerer watches Drive" in line or "Error" in line:
                break
        assert "schoolnet_feedback is unpaused and the triggerer watches Drive" in said[-1], said
        command.send_signal(signal.SIGTERM)
        rest, _ = command.communicate(timeout=300)
    finally:
        if command.poll() is None:
            os.killpg(command.pid, signal.SIGKILL)
            command.wait()
    assert command.returncode == 0, "".join(said) + (rest or "")
    assert "stopped; nothing left running" in rest
    assert session_members(command.pid) == []
    # Nothing was scheduled by itself: no report went out.
    assert not list((out / "mail").glob("*.eml"))
