"""``schoolnet validate FILE``: an exported .xlsx or .csv sheet checked like the daily pull, the
contract's JSON or a Thai table out, exit code 1 only when the file cannot be read at all."""

from __future__ import annotations

import json
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from schoolnet.cli.main import main
from schoolnet.contract import load_contract
from schoolnet.core.registry import School, write_csv
from schoolnet.validation import read_sheet_file

CONTRACT = load_contract()
HEADERS = list(CONTRACT.headers)
ESA = "105201"
TODAY = "2018-01-10"
TITLE = "ข้อมูลอินเทอร์เน็ตโรงเรียน สพป.ลำปาง เขต 1"


def code(number: int) -> str:
    return f"{ESA}{number:04d}"


def connected(number: int, **cells: Any) -> list[Any]:
    """A connected school's row in the contract's column order, typed as in a real sheet."""
    values: dict[str, Any] = {
        "school_code": code(number),
        "school_name": f"บ้านหนองบัว{number}",
        "students": 245,
        "status": "เชื่อมต่อแล้ว",
        "isp": "ทีโอที",
        "link_type": "ใยแก้วนำแสง/FTTx",
        "download_mbps": 30,
        "upload_mbps": 10,
        "monthly_fee_thb": 1290,
        "funding_source": "เงินอุดหนุนรายหัว",
        "support_requested_thb": 0,
        "support_reason": None,
        "providers_contacted": None,
        "service_start": datetime(2018, 1, 3),  # noqa: DTZ001 - a sheet cell: naive wall-clock
        "note": None,
    }
    values.update(cells)
    return [values[key] for key in CONTRACT.keys]


def no_provider(number: int) -> list[Any]:
    return [code(number), f"บ้านหนองบัว{number}", 80, "ไม่มีผู้ให้บริการในพื้นที่"] + [None] * 8 + ["ทีโอที, ทรู"]


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "schools.csv"
    schools = [School(code(n), f"บ้านหนองบัว{n}", ESA, "ลำปาง", 245) for n in range(1, 6)]
    write_csv(path, [*schools, School("1052020001", "บ้านดอนแก้ว", "105202", "ลำปาง", 80)])
    return path


def xlsx(
    path: Path, rows: list[list[Any]], tab: str = "โรงเรียน", before: str | None = None
) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    if before is not None:  # another tab first, the data tab second
        sheet.title = before
        sheet.append(["อ่านคำอธิบายก่อนกรอก"])
        sheet = workbook.create_sheet(tab)
    else:
        sheet.title = tab
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def run(
    capsys: pytest.CaptureFixture[str], file: Path, registry: Path, *extra: str
) -> tuple[int, str, str]:
    code = main(["validate", str(file), "--esa", ESA, "--registry", str(registry), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(
    capsys: pytest.CaptureFixture[str], file: Path, registry: Path, *extra: str
) -> dict[str, Any]:
    status, out, err = run(capsys, file, registry, "--json", "--date", TODAY, *extra)
    assert status == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def at(document: dict[str, Any]) -> dict[str, str]:
    """Finding codes by A1 cell (sheet-level findings under "-")."""
    return {f["cell"] or "-": f["code"] for f in document["findings"]}


# --- .xlsx ------------------------------------------------------------------------------------


def test_clean_xlsx_prints_the_contract_json(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [HEADERS, connected(1), connected(2, download_mbps="30 Mbps"), no_provider(3)]
    rows += [connected(4), connected(5)]
    document = run_json(capsys, xlsx(tmp_path / "sheet.xlsx", rows), registry)
    assert list(document) == ["esa", "outcome", "rows", "findings"]
    assert (document["esa"], document["outcome"], document["findings"]) == (ESA, "accepted", [])
    first = document["rows"][0]
    assert (first["row"], first["school_code"], first["accepted"]) == (2, code(1), True)
    values = first["values"]
    assert values["students"] == 245 and isinstance(values["students"], int)
    assert values["download_mbps"] == 30.0 and values["monthly_fee_thb"] == 1290.0
    assert (values["status"], values["isp"], values["link_type"]) == ("connected", "TOT", "fiber")
    assert values["funding_source"] == "per_student_subsidy"
    assert values["service_start"] == "2018-01-03"  # a real date cell
    assert values["note"] is None
    assert document["rows"][1]["values"]["download_mbps"] == 30.0
    assert document["rows"][2]["values"]["providers_contacted"] == ["TOT", "True"]


def test_messy_xlsx_findings_at_their_cells(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        [TITLE],
        HEADERS,
        connected(1, students="๒๔๕", service_start="3/1/2561"),  # row 3: Thai digits, BE text
        connected(2, students=-3),  # row 4
        connected(3, service_start=datetime(2561, 1, 3)),  # noqa: DTZ001 - row 5: a cell typed in BE
        connected(4, students=245.0, status="ต่อเน็ตแล้ว"),  # row 6: unknown status
        connected(5, service_start=date(2018, 1, 20)),  # row 7: after --date
    ]
    document = run_json(capsys, xlsx(tmp_path / "messy.xlsx", rows), registry)
    assert document["outcome"] == "accepted"
    assert at(document) == {"C4": "negative_value", "D6": "unknown_enum_value", "N7": "future_date"}
    negative = next(f for f in document["findings"] if f["cell"] == "C4")
    assert negative == {
        "row": 4,
        "column": "students",
        "header": "จำนวนนักเรียน",
        "cell": "C4",
        "severity": "error",
        "code": "negative_value",
        "message": negative["message"],
        "value": "-3",
    }
    assert "จำนวนนักเรียน" in negative["message"] and "-3" in negative["message"]
    by_row = {r["row"]: r for r in document["rows"]}
    assert by_row[3]["accepted"] and by_row[3]["values"]["students"] == 245
    assert by_row[3]["values"]["service_start"] == "2018-01-03"
    assert by_row[5]["accepted"] and by_row[5]["values"]["service_start"] == "2018-01-03"
    assert by_row[6]["values"]["students"] == 245
    assert [r for r in by_row if not by_row[r]["accepted"]] == [4, 6, 7]


def test_date_option_is_today_for_the_future_date_rule(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = xlsx(tmp_path / "sheet.xlsx", [HEADERS, connected(1, service_start="20/1/2561")])
    assert at(run_json(capsys, path, registry))["N2"] == "future_date"
    later = run_json(capsys, path, registry, "--date", "2018-01-20")
    assert "N2" not in at(later)
    status, out, _ = run(capsys, path, registry, "--json")  # today in Bangkok: long after 2018
    assert status == 0 and "N2" not in at(json.loads(out))


def test_first_tab_is_read_when_the_data_tab_is_missing(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = xlsx(tmp_path / "sheet.xlsx", [HEADERS, connected(1)], tab="Sheet1")
    document = run_json(capsys, path, registry)
    assert document["outcome"] == "accepted"
    warning = document["findings"][0]
    assert (warning["code"], warning["severity"], warning["value"]) == (
        "data_tab_missing",
        "warning",
        "Sheet1",
    )
    assert "โรงเรียน" in warning["message"] and "Sheet1" in warning["message"]
    assert document["rows"][0]["accepted"]


def test_data_tab_is_found_behind_another_tab(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = xlsx(tmp_path / "sheet.xlsx", [HEADERS, connected(1)], before="คำอธิบาย")
    document = run_json(capsys, path, registry)
    assert "data_tab_missing" not in at(document).values()
    assert [r["school_code"] for r in document["rows"]] == [code(1)]


def test_xlsx_cells_are_typed_like_the_sheets_api(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        # openpyxl writes and reads cells as naive datetimes, as a sheet holds them
        ["a", 245.0, 2.5, True, datetime(2018, 1, 3), datetime(2018, 1, 3, 12, 0), None, None],  # noqa: DTZ001
        [],
        [None, "1,290", None],
        [None, None],
    ]
    values, tab = read_sheet_file(xlsx(tmp_path / "types.xlsx", rows))
    assert tab == "โรงเรียน"
    assert values == [["a", 245, 2.5, True, 43103, 43103.5], [], ["", "1,290"]]
    assert type(values[0][1]) is int and type(values[0][3]) is bool


# --- .csv -------------------------------------------------------------------------------------


def csv_text(rows: list[list[str]], separator: str = ",") -> str:
    def cell(text: str) -> str:
        return f'"{text}"' if separator in text else text

    return "\r\n".join(separator.join(cell(c) for c in row) for row in rows) + "\r\n"


CSV_ROWS = [
    [TITLE],
    HEADERS,
    [code(1), "รร.บ้านหนองบัว1", "๒๔๕", "เชื่อมต่อแล้ว", "ทีโอที", "FTTx", "30 Mbps", "10",
     "1,290", "รายหัว", "0", "", "", "3 ม.ค. 61", ""],
    [code(2), "บ้านหนองบัว2", "-3", "ยังไม่เชื่อมต่อ", "", "", "", "", "", "", "", "", "", "", ""],
]  # fmt: skip


@pytest.mark.parametrize(
    ("encoding", "separator"),
    [("utf-8-sig", ","), ("utf-8", ","), ("utf-16", "\t"), ("cp874", ",")],
)
def test_csv_in_the_encodings_excel_and_sheets_write(
    tmp_path: Path,
    registry: Path,
    capsys: pytest.CaptureFixture[str],
    encoding: str,
    separator: str,
) -> None:
    path = tmp_path / "sheet.csv"
    path.write_bytes(csv_text(CSV_ROWS, separator).encode(encoding))
    document = run_json(capsys, path, registry)
    assert document["outcome"] == "accepted"
    assert at(document) == {"C4": "negative_value", "-": "not_reported"}
    first = document["rows"][0]
    assert first["row"] == 3 and first["accepted"]
    assert first["values"]["students"] == 245
    assert first["values"]["download_mbps"] == 30.0 and first["values"]["monthly_fee_thb"] == 1290
    assert first["values"]["service_start"] == "2018-01-03"
    assert first["values"]["funding_source"] == "per_student_subsidy"
    assert [f["value"] for f in document["findings"] if f["cell"] == "C4"] == ["-3"]


def test_csv_cells_are_text_and_trailing_blanks_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "sheet.csv"
    path.write_text("a,245,,\r\n,,\r\nb\r\n,,,\r\n\r\n", encoding="utf-8")
    assert read_sheet_file(path) == ([["a", "245"], [], ["b"]], None)


def test_an_empty_file_is_read_and_has_no_header(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    document = run_json(capsys, path, registry)
    assert document["outcome"] == "rejected"
    assert [f["code"] for f in document["findings"]] == ["header_not_found"]


# --- the table, quarantine, odd registries ----------------------------------------------------


def test_table_lists_findings_by_row_with_a_summary(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [HEADERS, connected(1, note="ok"), connected(2, students=-3), connected(1, note="x")]
    path = xlsx(tmp_path / "sheet.xlsx", rows, tab="Sheet1")
    status, out, err = run(capsys, path, registry, "--date", TODAY)
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert "sheet.xlsx" in lines[0] and ESA in lines[0]
    assert lines[1].split()[:4] == ["แถว", "ช่อง", "ระดับ", "รหัสปัญหา"]
    body = [line.split() for line in lines[2:-1]]
    assert [(cells[0], cells[1], cells[3]) for cells in body] == [
        ("–", "–", "data_tab_missing"),
        ("2", "A2", "duplicate_conflict"),
        ("3", "C3", "negative_value"),
        ("4", "A4", "duplicate_conflict"),
        ("–", "–", "not_reported"),
        ("–", "–", "not_reported"),
        ("–", "–", "not_reported"),
    ]
    assert body[2][2] == "ข้อผิดพลาด" and body[0][2] == "คำเตือน"
    assert "ติดลบไม่ได้" in lines[4]
    summary = lines[-1]
    assert summary.startswith("ผล: ไม่มีข้อมูลที่รับได้ ทุกแถวมีข้อผิดพลาด")  # not "accepted"
    assert "(nothing accepted: every row rejected)" in summary
    assert "3 แถว: ผ่าน 0 ไม่ผ่าน 3" in summary and "ข้อผิดพลาด 3 คำเตือน 4" in summary


def test_clean_table_says_so(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [HEADERS, *(connected(n) for n in range(1, 6))]
    status, out, _ = run(capsys, xlsx(tmp_path / "s.xlsx", rows), registry, "--date", TODAY)
    assert status == 0
    assert out.splitlines()[1:] == [
        "ไม่พบปัญหา",
        "ผล: รับข้อมูล (accepted) · 5 แถว: ผ่าน 5 ไม่ผ่าน 0 · ข้อผิดพลาด 0 คำเตือน 0",
    ]


def test_previous_accepted_quarantines_a_sheet_that_fell_by_more_than_half(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = xlsx(tmp_path / "sheet.xlsx", [HEADERS, connected(1), connected(2)])
    assert run_json(capsys, path, registry, "--previous-accepted", "4")["outcome"] == "accepted"
    document = run_json(capsys, path, registry, "--previous-accepted", "5")
    assert document["outcome"] == "quarantined"
    assert document["findings"][0]["code"] == "quarantined"
    assert document["findings"][0]["value"] == "2"
    assert all(row["accepted"] for row in document["rows"])


def test_an_esa_missing_from_the_registry_is_still_validated(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = xlsx(tmp_path / "sheet.xlsx", [HEADERS, connected(1)])
    status = main(["validate", str(path), "--esa", "109999", "--registry", str(registry), "--json"])
    captured = capsys.readouterr()
    assert status == 0
    document = json.loads(captured.out)
    assert document["esa"] == "109999"
    assert at(document) == {"A2": "school_of_other_esa"}
    assert "109999" in captured.err and len(captured.err.splitlines()) == 1


# --- files that cannot be read ----------------------------------------------------------------


def _broken(tmp_path: Path) -> dict[str, Path]:
    corrupt = tmp_path / "corrupt.xlsx"
    good = xlsx(tmp_path / "good.xlsx", [HEADERS, connected(1)])
    corrupt.write_bytes(good.read_bytes()[:400])
    junk = tmp_path / "junk.xlsx"
    junk.write_text("รหัสโรงเรียน,ชื่อโรงเรียน\n", encoding="utf-8")
    not_a_workbook = tmp_path / "other.xlsx"
    with zipfile.ZipFile(not_a_workbook, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(good.read_bytes())
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    return {
        "missing": tmp_path / "nope.xlsx",
        "folder": tmp_path,
        "pdf": pdf,
        "corrupt": corrupt,
        "junk": junk,
        "not_a_workbook": not_a_workbook,
        "binary": binary,
    }


@pytest.mark.parametrize(
    "kind", ["missing", "folder", "pdf", "corrupt", "junk", "not_a_workbook", "binary"]
)
def test_unreadable_file_exits_1_with_one_line(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    path = _broken(tmp_path)[kind]
    status, out, err = run(capsys, path, registry, "--json")
    assert status == 1 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("schoolnet validate: ")
    assert "Traceback" not in err and "Error" not in err


@pytest.mark.parametrize("content", [None, b"school_code,school_name\n", b"\xff\xfe\x00\xd8bad"])
def test_unreadable_registry_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None
) -> None:
    registry = tmp_path / "schools.csv"
    if content is not None:
        registry.write_bytes(content)
    path = xlsx(tmp_path / "sheet.xlsx", [HEADERS, connected(1)])
    status, out, err = run(capsys, path, registry)
    assert status == 1 and out == ""
    assert len(err.splitlines()) == 1 and "schools.csv" in err


# --- honest verdicts --------------------------------------------------------------------------


def verdict_of(out: str) -> str:
    summary = out.splitlines()[-1]
    assert summary.startswith("ผล: ")
    return summary.split(" · ")[0]


def test_a_sheet_with_only_its_header_is_not_called_accepted(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, xlsx(tmp_path / "s.xlsx", [HEADERS]), registry, "--date", TODAY)
    assert status == 0
    assert verdict_of(out) == (
        "ผล: ไม่มีข้อมูลที่รับได้ ชีตมีแต่หัวตาราง ไม่มีแถวโรงเรียน (nothing accepted: no rows)"
    )


def test_a_mistyped_esa_code_is_named_as_probably_the_wrong_code(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = connected(1, school_code="1052020001", school_name="บ้านดอนแก้ว")
    status, out, _ = run(capsys, xlsx(tmp_path / "s.xlsx", [HEADERS, other]), registry)
    assert status == 0
    verdict = verdict_of(out)
    assert "ไม่มีข้อมูลที่รับได้" in verdict and "น่าจะระบุรหัสเขตพื้นที่ (--esa) ผิด" in verdict
    assert "probably the wrong ESA code, the schools are 105202's" in verdict
    # A sheet of the right ESA with one stray school keeps its ordinary verdict.
    mixed = [HEADERS, connected(1), connected(2), other]
    _, out, _ = run(capsys, xlsx(tmp_path / "m.xlsx", mixed), registry)
    assert verdict_of(out) == "ผล: รับข้อมูล (accepted)"


def encrypted_workbook(path: Path) -> Path:
    """What Excel writes for a workbook with a password to open: an OLE compound file whose
    directory names the streams "EncryptionInfo" and "EncryptedPackage" (the header sector,
    then a directory sector of 128-byte entries; the encrypted bytes do not matter here)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    entries = b"".join(
        name.encode("utf-16-le").ljust(64, b"\0") + bytes(64)
        for name in ("Root Entry", "EncryptionInfo", "EncryptedPackage", "\x06DataSpaces")
    )
    path.write_bytes(header + entries + bytes(4096))
    return path


def test_a_password_protected_workbook_is_named_as_such(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, encrypted_workbook(tmp_path / "locked.xlsx"), registry)
    assert status == 1 and out == ""
    assert len(err.splitlines()) == 1
    assert "locked.xlsx ถูกตั้งรหัสผ่านไว้" in err and "เอารหัสผ่านออก" in err


def test_a_formula_without_a_computed_value_is_not_called_empty(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # openpyxl, like other programs that write workbooks, keeps no computed value of a formula.
    rows = [HEADERS, connected(1, students="=200+45"), connected(2)]
    document = run_json(capsys, xlsx(tmp_path / "s.xlsx", rows), registry)
    (finding,) = [f for f in document["findings"] if f["row"] == 2]
    assert (finding["cell"], finding["code"], finding["severity"]) == (
        "C2",
        "formula_without_value",
        "error",
    )
    assert finding["value"] == "=200+45" and finding["column"] == "students"
    assert "ไม่ใช่ช่องว่าง" in finding["message"]
    assert [row["accepted"] for row in document["rows"]] == [False, True]


def test_a_laid_out_workbook_with_sum_formulas_reads_its_schools_only(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A merged title, a date line, a sequence column, a district heading and a totals row of
    ``=SUM`` formulas the file kept no value for: none of them is a school, none is an error."""
    width = len(HEADERS) + 1
    rows: list[list[Any]] = [
        ["ข้อมูลอินเทอร์เน็ตโรงเรียน สพป.ลำปาง เขต 1"],
        ["ข้อมูล ณ วันที่ 1 ธันวาคม 2569"],
        ["ลำดับ", *HEADERS],
        ["อำเภอเมืองลำปาง"],
        *[[number, *connected(number)] for number in range(1, 6)],
        ["รวม", "", "", "=SUM(D5:D9)", "", "", "", "=SUM(H5:H9)"],
    ]
    path = xlsx(tmp_path / "laid_out.xlsx", rows)
    workbook = openpyxl.load_workbook(path)
    workbook.active.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    workbook.save(path)
    document = run_json(capsys, path, registry)
    assert document["outcome"] == "accepted"
    assert [f["code"] for f in document["findings"]] == ["heading_rows_skipped"]
    assert [(row["row"], row["accepted"]) for row in document["rows"]] == [
        (number, True) for number in range(5, 10)
    ]
