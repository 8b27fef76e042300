"""The report email's HTML stays under Gmail's clipping limit (102 KB) on the worst day we can
foresee: all 245 ESAs of the national layout flagged (half unreadable with the longest Thai
reason, half rejected with findings), escalations, slow schools and rejected rows in every ESA,
every list at the email's default length."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from schoolnet.core.registry import Esa, School
from schoolnet.devtools.demo.provinces import esa_plans
from schoolnet.report.daily import build_report
from schoolnet.report.files import (
    GMAIL_CLIP_BYTES,
    MIN_LIST_LIMIT,
    ChartRef,
    chart_cid,
    fitted_email,
)
from schoolnet.warehouse import EsaDay, create_warehouse_engine, ensure_schema, merge_day

D1, D2 = date(2018, 1, 15), date(2018, 1, 16)
ISPS = ["TOT", "CAT", "True", "3BB", "AIS", "DTAC", "UIH", "other"]
NOT_SHARED = (
    "ระบบเปิดชีตของเขตไม่ได้ เพราะชีตยังไม่ได้แชร์ให้บัญชีของระบบ กรุณาแชร์ชีตให้ "
    "schoolnet-pipeline@obec-schoolnet-production.iam.gserviceaccount.com (สิทธิ์ผู้แก้ไข)"
)


def national_day(engine: Engine) -> None:
    esas = [
        Esa(
            p.esa_code,
            p.esa_name,
            p.level,
            p.province.name,
            f"sheet-{p.esa_code}",
            p.contact_email,
        )
        for p in esa_plans()
    ]
    schools: list[School] = []
    first: list[EsaDay] = []
    second: list[EsaDay] = []
    for index, esa in enumerate(esas):
        codes = [f"{esa.esa_code}{n:04d}" for n in range(1, 4)]
        names = [
            f"บ้านห้วยน้ำรินสามัคคีวิทยาคารพัฒนาศึกษาเฉลิมพระเกียรติ {esa.esa_code} ({n})" for n in range(3)
        ]
        schools += [
            School(code, name, esa.esa_code, esa.province, 1200)
            for code, name in zip(codes, names, strict=True)
        ]
        rows: dict[str, dict[str, Any]] = {
            codes[0]: {
                "status": "connected",
                "students": 1200,
                "isp": "other",
                "link_type": "satellite",
                "download_mbps": 1.5,
                "monthly_fee_thb": 4500.0,
                "funding_source": "per_student_subsidy",
            },
            codes[1]: {"status": "no_provider", "students": 45, "providers_contacted": ISPS},
            codes[2]: {"status": "not_connected", "students": 30},
        }
        first.append(EsaDay(esa.esa_code, "accepted", rows_read=3, accepted=rows))
        if index % 2:
            findings = [
                {
                    "row": row,
                    "column_key": "students",
                    "header": "จำนวนนักเรียน",
                    "cell": f"C{row}",
                    "severity": "error",
                    "code": "negative_value",
                    "message": "จำนวนนักเรียนติดลบไม่ได้ กรุณาพิมพ์จำนวนนักเรียนเป็นตัวเลข 0 ขึ้นไป",
                    "value": "-12",
                }
                for row in (3, 4, 5)
            ]
            second.append(
                EsaDay(
                    esa.esa_code,
                    "rejected",
                    rows_read=3,
                    rows_rejected=3,
                    error_code="header_not_found",
                    reason="หาหัวตารางไม่พบในสิบแถวแรก กรุณาคืนหัวตารางตามแบบฟอร์ม",
                    findings=findings,
                )
            )
        else:
            second.append(
                EsaDay(esa.esa_code, "failed", error_code="not_shared", reason=NOT_SHARED)
            )
    merge_day(engine, D1, esas, schools, first)
    merge_day(engine, D2, esas, schools, second)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("size") / "warehouse.db"
    engine = create_warehouse_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    national_day(engine)
    yield engine
    engine.dispose()


CHARTS = {
    name: ChartRef(src=f"cid:{chart_cid(name, D2)}", alt="กราฟ " * 40)
    for name in ("progress", "gap", "map")
}


def email_html(engine: Engine, limit: int = 20, max_bytes: int = GMAIL_CLIP_BYTES) -> str:
    with engine.connect() as conn:
        report = build_report(conn, D2, stale_after_days=2)
    assert len(report.flagged_esas) == 245
    return fitted_email(report, CHARTS, limit, max_bytes).html


def test_every_esa_flagged_stays_under_gmails_clipping_limit(engine: Engine) -> None:
    html = email_html(engine)
    size = len(html.encode("utf-8"))
    assert size < GMAIL_CLIP_BYTES, f"{size:,} bytes"
    # Every list was shown at its full email length: nothing was cut to make it fit.
    assert "แสดง 20 จาก 245 เขต" in html
    assert "แสดง 20 จาก 245 โรงเรียน" in html  # the escalation list
    assert "แสดง 10 จาก 245 โรงเรียนที่ต่ำกว่าเกณฑ์" in html  # the speed lists stop at ten


def test_lists_are_shortened_rather_than_clipped(engine: Engine) -> None:
    full = len(email_html(engine).encode("utf-8"))
    html = email_html(engine, max_bytes=full - 1)
    assert len(html.encode("utf-8")) < full
    assert "แสดง 20 จาก" not in html and "แสดง 13 จาก 245 เขต" in html
    # Never below MIN_LIST_LIMIT rows, however small the budget.
    assert f"แสดง {MIN_LIST_LIMIT} จาก 245 เขต" in email_html(engine, max_bytes=1_000)
