"""A finding's column headings and severity labels come from the contract alone, and the feedback
tab, the ESA's email and the report's workbook all show the contract's words."""

from __future__ import annotations

from datetime import date

from schoolnet.contract import Contract, load_contract
from schoolnet.core.registry import Esa
from schoolnet.report.daily import template_environment
from schoolnet.report.workbook import FINDINGS_SHEET, sheet_specs
from schoolnet.validation.feedback import EsaFeedback, sheet_url
from schoolnet.validation.result import ResultFinding, SheetResult

ESA = Esa("105201", "สพป.ลำปาง เขต 1", "primary", "ลำปาง", "sheet-1", "esa@obec.go.th")
FINDINGS = (
    ResultFinding(
        esa=ESA.esa_code,
        row=4,
        column="students",
        header="จำนวนนักเรียน",
        cell="C4",
        severity="error",
        code="negative_value",
        message="จำนวนนักเรียนติดลบไม่ได้",
        value="-3",
    ),
    ResultFinding(
        esa=ESA.esa_code,
        row=7,
        column="monthly_fee_thb",
        header="ค่าบริการต่อเดือน",
        cell="F7",
        severity="warning",
        code="cost_unusual",
        message="ค่าบริการสูงผิดปกติ",
        value="99999",
    ),
)
RESULT = SheetResult(
    esa_code=ESA.esa_code,
    spreadsheet_id=ESA.spreadsheet_id,
    report_date=date(2018, 1, 16),
    api_calls=1,
    outcome="accepted",
    rows_read=3,
    rows_rejected=1,
    accepted={"1052010001": {}},
    findings=FINDINGS,
)


def contract() -> Contract:
    return load_contract()


def test_the_contract_names_every_column_and_severity() -> None:
    assert list(contract().finding_headings) == [
        "row",
        "cell",
        "header",
        "severity",
        "message",
        "value",
        "code",
    ]
    assert set(contract().severity_labels) == {"error", "warning"}


def test_the_feedback_tab_uses_the_contracts_words() -> None:
    rows = EsaFeedback.from_result(ESA, RESULT).tab_rows()
    headings = contract().finding_headings
    assert rows[4] == list(headings.values())
    labels = contract().severity_labels
    assert [row[3] for row in rows[5:]] == [labels["error"], labels["warning"]]


def test_the_esa_email_uses_the_contracts_words() -> None:
    feedback = EsaFeedback.from_result(ESA, RESULT)
    environment = template_environment()
    context = {"feedback": feedback, "sheet_url": sheet_url(ESA.spreadsheet_id), "standing": None}
    html = environment.get_template("esa_feedback.html.j2").render(context)
    text = environment.get_template("esa_feedback.txt.j2").render(context)
    headings, labels = contract().finding_headings, contract().severity_labels
    for key in ("row", "cell", "header", "message", "value"):
        assert f"<th>{headings[key]}</th>" in html
    assert f"{labels['error']}: {FINDINGS[0].message}" in html
    assert f"{labels['warning']}: {FINDINGS[1].message}" in html
    assert f"{headings['row']} 4 {headings['cell']} C4" in text
    assert f"{labels['warning']} - {FINDINGS[1].message}" in text


def test_the_workbook_uses_the_contracts_words() -> None:
    findings = next(spec for spec in sheet_specs() if spec.title == FINDINGS_SHEET)
    assert contract().feedback_tab == FINDINGS_SHEET
    by_key = {column.key: column for column in findings.columns}
    headings = contract().finding_headings
    assert by_key["sheet_row"].header == headings["row"]
    for key in ("cell", "header", "severity", "message", "value", "code"):
        assert by_key[key].header == headings[key]
    assert by_key["severity"].convert("error") == contract().severity_labels["error"]


def test_the_esa_email_links_the_sheet_by_name_and_the_text_part_gives_the_address() -> None:
    """A 44-character sheet address as link text ran off a phone's screen: the HTML part links it
    under the ESA's name, and the plain-text part, which has no links, keeps the address."""
    feedback = EsaFeedback.from_result(ESA, RESULT)
    environment = template_environment()
    url = sheet_url(ESA.spreadsheet_id)
    context = {"feedback": feedback, "sheet_url": url, "standing": None}
    html = environment.get_template("esa_feedback.html.j2").render(context)
    text = environment.get_template("esa_feedback.txt.j2").render(context)
    assert f'href="{url}">เปิดชีตของ {ESA.esa_name}</a>' in html
    assert f">{url}<" not in html
    assert url in text
