"""``schoolnet emulator …`` subcommands, run through the emulator's own ``register``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from schoolnet.cli.emulator import main
from schoolnet.devtools.emulator import Emulator
from schoolnet.devtools.emulator.state import read_control

SID = "1CliSheet"


def doc(rows: list[list[Any]]) -> dict[str, Any]:
    return {
        "spreadsheetId": SID,
        "title": "t",
        "parents": ["f"],
        "modifiedTime": "2018-01-02T00:00:00.000Z",
        "sheets": [{"sheetId": 0, "title": "โรงเรียน", "rows": rows}],
    }


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "state" / "spreadsheets"
    folder.mkdir(parents=True)
    (folder / f"{SID}.json").write_text(json.dumps(doc([["a", "b"], ["c"]])), "utf-8")
    return tmp_path / "state"


def stored(state_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((state_dir / "spreadsheets" / f"{SID}.json").read_text())
    return data


def test_edit_types_like_a_clerk(state_dir: Path) -> None:
    assert main(["emulator", "edit", "--state", str(state_dir), SID, "'โรงเรียน'!C2", "245"]) == 0
    assert main(["emulator", "edit", "--state", str(state_dir), SID, "A1", ""]) == 0
    data = stored(state_dir)
    assert data["sheets"][0]["rows"] == [[None, "b"], ["c", None, 245]]
    assert data["modifiedTime"] > "2018-01-02T00:00:00.000Z"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["edit", "1nope", "A1", "x"], "unknown spreadsheet id: 1nope"),
        (["edit", SID, "'ไม่มี'!A1", "x"], "Unable to parse range"),
        (["edit", SID, "A1:B2", "x"], "not a single cell"),
        (["fault", "1nope", "403"], "unknown spreadsheet id: 1nope"),
    ],
)
def test_user_mistakes_are_one_line(
    state_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    command, *rest = argv
    assert main(["emulator", command, "--state", str(state_dir), *rest]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_fault_and_quota_write_control_json(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fault = ["emulator", "fault", "--state", str(state_dir), SID]
    assert main([*fault, "hang", "--seconds", "5"]) == 0
    assert read_control(state_dir)["faults"] == {SID: {"mode": "hang", "seconds": 5.0}}
    assert main([*fault, "none"]) == 0
    assert read_control(state_dir)["faults"] == {}
    assert main(["emulator", "quota", "--state", str(state_dir), "--read", "300"]) == 0
    control = read_control(state_dir)
    assert (control["read_quota_per_minute"], control["write_quota_per_minute"]) == (300, 60)
    assert "read 300/min" in capsys.readouterr().out


def test_load_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    day = tmp_path / "demo" / "days" / "2018-01-03"
    day.mkdir(parents=True)
    (day / f"{SID}.json").write_text(json.dumps(doc([["x"]])), "utf-8")
    state = tmp_path / "state"
    argv = ["emulator", "load", "--state", str(state), "--demo-data", str(tmp_path / "demo")]
    assert main([*argv, "--date", "2018-01-03"]) == 0
    assert "loaded 1 spreadsheets" in capsys.readouterr().out
    assert main([*argv, "--date", "2018-01-01"]) == 1
    assert (
        main(
            [
                "emulator",
                "load",
                "--state",
                str(state),
                "--demo-data",
                str(tmp_path),
                "--date",
                "2018-01-03",
            ]
        )
        == 1
    )
    assert "not a demo data set" in capsys.readouterr().err


def test_stats_command(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Emulator(state_dir) as emu:
        requests.get(f"{emu.base_url}/v4/spreadsheets/{SID}", timeout=5)
        assert main(["emulator", "stats", "--url", emu.base_url]) == 0
        assert json.loads(capsys.readouterr().out)["by_endpoint"] == {"spreadsheets.get": 1}
    assert main(["emulator", "stats", "--url", emu.base_url]) == 1
    assert "cannot reach the emulator" in capsys.readouterr().err


def test_serve_prints_url_and_stops_on_sigterm(state_dir: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "schoolnet.cli.emulator",
            "emulator",
            "serve",
            "--state",
            str(state_dir),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        meta = requests.get(f"{url}/v4/spreadsheets/{SID}", timeout=5).json()
        assert meta["sheets"][0]["properties"]["title"] == "โรงเรียน"
        process.send_signal(signal.SIGTERM)
        # Without SIGTERM handling it would serve on; the bound only has to outlast a slow exit.
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
