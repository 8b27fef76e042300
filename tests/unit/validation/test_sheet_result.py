"""One ESA's validation result as one typed record: written and read back the same, files of the
old shape still loading, and one "not pulled" record for the merge and the ESA's email."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, select

from schoolnet.core.config import Settings, load_settings
from schoolnet.core.registry import Esa, School, write_csv
from schoolnet.orchestration.merge import merge
from schoolnet.orchestration.pull import summary
from schoolnet.report.esa_email import render_esa_feedback_email
from schoolnet.validation.feedback import EsaFeedback, sheet_url
from schoolnet.validation.result import (
    ResultFinding,
    SheetResult,
    read_result,
    result_for,
    result_path,
    write_result,
)
from schoolnet.warehouse import EsaDay
from schoolnet.warehouse.merge import NOT_PULLED, NOT_PULLED_REASON
from schoolnet.warehouse.models import PullRow
from tests.settings import write_test_settings

ESA = Esa("101101", "สพป.สมุทรปราการ เขต 1", "primary", "สมุทรปราการ", "sheet-1", "it@esa.go.th")
DAY = date(2018, 1, 4)

# A result file as the daily pull wrote it before the record was typed (a run of the demo data
# set, its accepted rows and findings cut down to a few): the shape every stored file has.
OLD_FILE = (
    '{"esa_code":"101101","spreadsheet_id":"1n0gt9OuO0Eby2cZHvuvicgJrQFaargaDKtuYce3hP1w",'
    '"report_date":"2018-01-04","sheet_modified_time":"2018-01-02T23:00:00.212Z",'
    '"origin_date":"2018-01-04","data_digest":'
    '"10fbfe600d9f7738454fc22004f4db2fd8bba8afd55fe9150b5d8aae78d446d3","api_calls":1,'
    '"feedback_tab":"unchanged","outcome":"accepted","error_code":null,"reason":null,'
    '"detail":null,"rows_read":149,"rows_rejected":20,"findings":[{"esa":"101101","row":3,'
    '"column":"students","header":"จำนวนนักเรียน","cell":"C3","severity":"error",'
    '"code":"missing_value","message":"ช่อง \\"จำนวนนักเรียน\\" ว่าง ต้องกรอกทุกแถว: '
    'พิมพ์จำนวนนักเรียนเป็นตัวเลขจำนวนเต็ม เช่น 245","value":""},{"esa":"101101","row":17,'
    '"column":"isp","header":"ผู้ให้บริการ","cell":"E17","severity":"error",'
    '"code":"missing_value","message":"สถานะ \\"เชื่อมต่อแล้ว\\" ต้องกรอกช่อง \\"ผู้ให้บริการ\\": '
    'พิมพ์ค่าใดค่าหนึ่งต่อไปนี้ ทีโอที, กสท/แคท, ทรู, ทริปเปิลที, เอไอเอส, ดีแทค, UIH, อื่นๆ",'
    '"value":""}],"accepted":{"1011010002":{"school_code":"1011010002",'
    '"school_name":"ชุมชนบ้านเกาะเต่าเหนือ","students":34,"status":"connected","isp":"TOT",'
    '"link_type":"dsl","download_mbps":10.0,"upload_mbps":1.0,"monthly_fee_thb":590.0,'
    '"funding_source":"donation","support_requested_thb":520.0,'
    '"support_reason":"งบรายหัวต้องใช้จ่ายค่าสาธารณูปโภคอื่นด้วย","providers_contacted":null,'
    '"service_start":"2017-11-18","note":null},"1011010139":{"school_code":"1011010139",'
    '"school_name":"บ้านท่างิ้ว","students":330,"status":"no_provider","isp":null,'
    '"link_type":null,"download_mbps":null,"upload_mbps":null,"monthly_fee_thb":null,'
    '"funding_source":null,"support_requested_thb":null,"support_reason":null,'
    '"providers_contacted":["TOT"],"service_start":null,"note":null}},"not_reported":[]}'
)
# An unreadable sheet's file, as written.
OLD_FAILED_FILE = (
    '{"esa_code":"101001","spreadsheet_id":"15AzzzbBZHYRHd2M1RDODxY9XusL1gLq4eKRwZHVtGFE",'
    '"report_date":"2018-01-04","sheet_modified_time":null,"origin_date":null,'
    '"data_digest":null,"api_calls":1,"feedback_tab":null,"outcome":"failed",'
    '"error_code":"not_shared","reason":"ระบบเปิดชีตของเขตไม่ได้ เพราะชีตยังไม่ได้แชร์ให้บัญชีของระบบ '
    'กรุณาแชร์ชีตให้ บัญชีบริการของระบบ (สิทธิ์ผู้แก้ไข)","detail":"Google answered 403: APIError: '
    '[403]: The caller does not have permission","rows_read":0,"rows_rejected":0,'
    '"findings":[],"accepted":{},"not_reported":[]}'
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    esas, schools = tmp_path / "esas.csv", tmp_path / "schools.csv"
    write_csv(esas, [ESA, replace(ESA, esa_code="101001", spreadsheet_id="sheet-2")])
    write_csv(schools, [School("1011010002", "ชุมชนบ้านเกาะเต่าเหนือ", "101101", "สมุทรปราการ", 34)])
    path = write_test_settings(
        tmp_path / "settings.toml", esas=esas, schools=schools, root=tmp_path
    )
    return load_settings(path)


def a_result() -> SheetResult:
    return SheetResult(
        esa_code=ESA.esa_code,
        spreadsheet_id=ESA.spreadsheet_id,
        report_date=DAY,
        sheet_modified_time="2018-01-02T23:00:00.212Z",
        origin_date=date(2018, 1, 3),
        data_digest="d" * 64,
        api_calls=0,
        feedback_tab="written",
        outcome="accepted",
        rows_read=3,
        rows_rejected=1,
        findings=(
            ResultFinding(
                esa=ESA.esa_code,
                row=None,
                column=None,
                header=None,
                cell=None,
                severity="warning",
                code="not_reported",
                message="ไม่มีแถวของโรงเรียน",
                value="1011010003",
            ),
            ResultFinding(
                esa=ESA.esa_code,
                row=4,
                column="students",
                header="จำนวนนักเรียน",
                cell="C4",
                severity="error",
                code="negative_value",
                message="ติดลบไม่ได้",
                value="-3",
            ),
        ),
        accepted={
            "1011010002": {
                "students": 34,
                "download_mbps": 10.0,
                "status": "connected",
                "providers_contacted": ["TOT", "AIS"],
                "service_start": date(2017, 11, 18),
                "note": None,
            }
        },
        not_reported=("1011010003",),
    )


def test_a_result_written_is_read_back_the_same(settings: Settings) -> None:
    result = a_result()
    path = write_result(settings, result)
    assert path == result_path(settings, DAY, ESA.esa_code)
    assert path == settings.storage.validated_dir("2018-01-04") / "101101.json"
    assert read_result(settings, DAY, ESA.esa_code) == result
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["report_date"] == "2018-01-04"
    assert stored["accepted"]["1011010002"]["service_start"] == "2017-11-18"
    assert stored["findings"][1]["esa"] == ESA.esa_code  # the key the file has always used
    assert read_result(settings, date(2018, 1, 5), ESA.esa_code) is None


def test_a_file_of_the_old_shape_loads_typed_and_is_written_back_as_it_was(
    settings: Settings,
) -> None:
    path = result_path(settings, DAY, ESA.esa_code)
    path.parent.mkdir(parents=True)
    path.write_text(OLD_FILE, encoding="utf-8")
    result = read_result(settings, DAY, ESA.esa_code)
    assert result is not None
    assert (result.report_date, result.origin_date) == (DAY, DAY)
    assert (result.outcome, result.rows_accepted, result.errors, result.warnings) == (
        "accepted",
        2,
        2,
        0,
    )
    values = result.accepted["1011010002"]
    assert values["service_start"] == date(2017, 11, 18)  # a date column's value is a date
    assert (values["students"], values["download_mbps"]) == (34, 10.0)
    assert type(values["students"]) is int and type(values["download_mbps"]) is float
    assert result.accepted["1011010139"]["providers_contacted"] == ["TOT"]
    assert result.findings[0].cell == "C3"
    write_result(settings, result)
    assert path.read_text(encoding="utf-8") == OLD_FILE

    failed = SheetResult.model_validate(json.loads(OLD_FAILED_FILE))
    assert (failed.outcome, failed.error_code, failed.accepted) == ("failed", "not_shared", {})


def test_a_file_from_before_the_digest_and_the_read_date_loads() -> None:
    older = json.loads(OLD_FILE)
    for added in ("sheet_modified_time", "origin_date", "data_digest"):
        del older[added]
    result = SheetResult.model_validate(older)
    assert (result.sheet_modified_time, result.origin_date, result.data_digest) == (None,) * 3
    assert result.esa_day().data_digest is None


def test_an_unknown_field_is_refused_and_the_record_does_not_change() -> None:
    with pytest.raises(ValidationError, match="extra"):
        SheetResult.model_validate({**json.loads(OLD_FILE), "rows_accepted": 2})
    finding = json.loads(OLD_FILE)["findings"][0]
    with pytest.raises(ValidationError, match="extra"):
        ResultFinding.model_validate({**finding, "esa_code": "101101"})
    with pytest.raises(ValidationError, match="outcome"):
        SheetResult.model_validate({**json.loads(OLD_FILE), "outcome": "acepted"})
    with pytest.raises(ValidationError, match="frozen"):
        a_result().outcome = "failed"


def test_the_merge_takes_the_result_as_it_was_written() -> None:
    day = a_result().esa_day()
    assert (day.esa_code, day.outcome, day.rows_read, day.rows_rejected) == (
        "101101",
        "accepted",
        3,
        1,
    )
    assert day.origin_date == date(2018, 1, 3) and day.data_digest == "d" * 64
    assert day.accepted["1011010002"]["service_start"] == date(2017, 11, 18)
    assert [finding["code"] for finding in day.findings] == ["not_reported", "negative_value"]
    assert set(day.findings[0]) == {
        "esa",
        "row",
        "column",
        "header",
        "cell",
        "severity",
        "code",
        "message",
        "value",
    }
    pulled = summary(a_result())
    assert (pulled.rows_accepted, pulled.errors, pulled.warnings) == (1, 1, 1)
    assert pulled.feedback_tab == "written"


def test_an_esa_whose_pull_left_no_result_is_the_same_not_pulled_to_the_merge_and_the_email(
    settings: Settings, warehouse_engine: Engine
) -> None:
    other = replace(ESA, esa_code="101001", spreadsheet_id="sheet-2")
    write_result(settings, a_result())
    missing = result_for(settings, DAY, other)
    assert missing == SheetResult.not_pulled(other, DAY)
    assert (missing.outcome, missing.error_code, missing.reason) == (
        "failed",
        NOT_PULLED,
        NOT_PULLED_REASON,
    )
    assert missing.esa_day() == EsaDay.not_pulled(other.esa_code)  # merge_day's own fallback

    merge(DAY, settings, warehouse_engine)
    with warehouse_engine.connect() as conn:
        pulls = {
            row.esa_code: row
            for row in conn.execute(
                select(PullRow.esa_code, PullRow.outcome, PullRow.error_code, PullRow.reason)
            )
        }
    assert (pulls["101001"].outcome, pulls["101001"].error_code) == ("failed", NOT_PULLED)
    assert pulls["101001"].reason == NOT_PULLED_REASON
    assert pulls["101101"].outcome == "accepted"

    feedback = EsaFeedback.from_result(other, missing)
    assert (feedback.outcome, feedback.error_code, feedback.reason) == (
        "failed",
        NOT_PULLED,
        NOT_PULLED_REASON,
    )
    email = render_esa_feedback_email(feedback, sheet_url(other.spreadsheet_id), None)
    assert NOT_PULLED_REASON in email.text and email.subject == feedback.subject
