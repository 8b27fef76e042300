"""``schoolnet validate FILE --previous SNAPSHOT.csv``: the offline check compares each row with
its school's last accepted values in a ``schoolnet export`` CSV, as the daily run does with the
warehouse; another ESA's export or a file that is not an export is refused in one line. The
export is written by the real command from a real warehouse (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from schoolnet.cli.main import main
from schoolnet.core.registry import Esa, School
from schoolnet.warehouse import EsaDay, merge_day
from tests.unit.cli.test_validate_cli import ESA, HEADERS, TODAY, code, connected, registry, xlsx

__all__ = ["registry"]  # the fixture, used by name

MERGED = date(2018, 1, 9)
OTHER_ESA = "105202"


def last_accepted(students: int) -> dict[str, Any]:
    return {
        "students": students,
        "status": "connected",
        "isp": "TOT",
        "link_type": "fiber",
        "download_mbps": 30.0,
        "upload_mbps": 10.0,
        "monthly_fee_thb": 1290.0,
        "funding_source": "per_student_subsidy",
        "service_start": date(2018, 1, 3),
        "note": "=ไม่ใช่สูตร",  # neutralized by the export, read back as typed
    }


@pytest.fixture
def export(warehouse_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The export of a warehouse that accepted school 1 with 245 students on ``MERGED`` (and a
    school of another ESA)."""
    esas = [
        Esa(ESA, "สพป.ลำปาง เขต 1", "primary", "ลำปาง", "sheet-a", "a@example.org"),
        Esa(OTHER_ESA, "สพป.ลำปาง เขต 2", "primary", "ลำปาง", "sheet-b", "b@example.org"),
    ]
    schools = [School(code(n), f"บ้านหนองบัว{n}", ESA, "ลำปาง", 245) for n in range(1, 6)]
    schools.append(School("1052020001", "บ้านดอนแก้ว", OTHER_ESA, "ลำปาง", 80))
    days = [
        EsaDay(ESA, "accepted", 1, 1, accepted={code(1): last_accepted(245)}),
        EsaDay(OTHER_ESA, "accepted", 1, 1, accepted={"1052020001": last_accepted(80)}),
    ]
    merge_day(warehouse_engine, MERGED, esas, schools, days)
    out = tmp_path / "snapshot.csv"
    url = warehouse_engine.url.render_as_string(hide_password=False)
    day = MERGED.isoformat()
    status = main(["export", day, "--format", "csv", "--out", str(out), "--url", url])
    capsys.readouterr()
    assert status == 0 and out.exists()
    return out


def run(
    capsys: pytest.CaptureFixture[str], file: Path, registry: Path, *extra: str
) -> tuple[int, str, str]:
    status = main(
        ["validate", str(file), "--esa", ESA, "--registry", str(registry), "--date", TODAY, *extra]
    )
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def warnings_of(out: str) -> list[dict[str, Any]]:
    document = json.loads(out)
    return [f for f in document["findings"] if f["code"] == "implausible_change"]


def test_a_good_export_gives_the_daily_runs_warning(
    tmp_path: Path, registry: Path, export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = xlsx(tmp_path / "sheet.xlsx", [HEADERS, connected(1, students=2450), connected(2)])
    status, out, err = run(capsys, sheet, registry, "--json", "--previous", str(export))
    assert status == 0, err
    (warning,) = warnings_of(out)
    assert (warning["cell"], warning["severity"], warning["value"]) == ("C2", "warning", "2450")
    assert "245 " in warning["message"] and "9 ม.ค. 2561" in warning["message"]
    assert all(row["accepted"] for row in json.loads(out)["rows"])
    # Without the export there is nothing to compare with.
    status, out, err = run(capsys, sheet, registry, "--json")
    assert status == 0 and warnings_of(out) == []


def test_both_options_are_read_only_as_spelled(
    tmp_path: Path, registry: Path, export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = xlsx(tmp_path / "sheet.xlsx", [HEADERS, connected(1, students=2450)])
    status, out, err = run(
        capsys, sheet, registry, "--json", "--previous", str(export), "--previous-accepted", "5"
    )
    assert status == 0, err
    document = json.loads(out)
    assert document["outcome"] == "quarantined"  # 1 row against 5
    codes = [f["code"] for f in document["findings"]]
    assert codes[0] == "quarantined" and codes.count("implausible_change") == 1
    # An abbreviation is no longer read as either option.
    with pytest.raises(SystemExit) as refused:
        run(capsys, sheet, registry, "--json", "--previous-acc", "5")
    assert refused.value.code == 2


def test_another_esas_export_is_refused_in_one_line(
    tmp_path: Path, registry: Path, export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = export.read_text(encoding="utf-8-sig").splitlines()
    theirs = tmp_path / "theirs.csv"
    theirs.write_text(
        "\n".join([lines[0], *(line for line in lines[1:] if f",{OTHER_ESA}," in line)]) + "\n",
        encoding="utf-8-sig",
    )
    sheet = xlsx(tmp_path / "sheet.xlsx", [HEADERS, connected(1)])
    status, out, err = run(capsys, sheet, registry, "--previous", str(theirs))
    assert status == 1 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("schoolnet validate: ")
    assert OTHER_ESA in err and ESA in err and "--esa" in err


@pytest.mark.parametrize("kind", ["district_sheet", "workbook", "missing"])
def test_a_file_that_is_not_an_export_is_refused_in_one_line(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    sheet = xlsx(tmp_path / "sheet.xlsx", [HEADERS, connected(1)])
    not_export = {
        "district_sheet": tmp_path / "sheet.csv",
        "workbook": sheet,
        "missing": tmp_path / "nope.csv",
    }[kind]
    if kind == "district_sheet":
        not_export.write_text(",".join(HEADERS) + "\n", encoding="utf-8")
    status, out, err = run(capsys, sheet, registry, "--previous", str(not_export))
    assert status == 1 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("schoolnet validate: ")
    assert "schoolnet export" in err and "Traceback" not in err
