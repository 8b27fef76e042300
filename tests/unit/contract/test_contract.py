"""The schema file agrees with the district sheet contract (v1), and its docs page is current."""

from __future__ import annotations

import pytest
import yaml

from schoolnet.contract import CONTRACT_FILE, load_contract, parse_contract
from schoolnet.contract.docs import contract_markdown
from schoolnet.core.paths import project_root

# The contract page's "Columns" table: key, Thai header, required.
CONTRACT_V1_COLUMNS = [
    ("school_code", "รหัสโรงเรียน", "always"),
    ("school_name", "ชื่อโรงเรียน", "always"),
    ("students", "จำนวนนักเรียน", "always"),
    ("status", "สถานะการเชื่อมต่อ", "always"),
    ("isp", "ผู้ให้บริการ", ("connected", "procuring")),
    ("link_type", "ประเภทการเชื่อมต่อ", ("connected",)),
    ("download_mbps", "ความเร็วดาวน์โหลด (Mbps)", ("connected",)),
    ("upload_mbps", "ความเร็วอัปโหลด (Mbps)", "no"),
    ("monthly_fee_thb", "ค่าบริการรายเดือน (บาท)", ("connected",)),
    ("funding_source", "แหล่งงบประมาณ", ("connected",)),
    ("support_requested_thb", "งบที่ขอสนับสนุน (บาท/เดือน)", "no"),
    ("support_reason", "เหตุผลความจำเป็น", "support_requested_thb"),
    ("providers_contacted", "ผู้ให้บริการที่ติดต่อแล้ว", ("no_provider",)),
    ("service_start", "วันที่เริ่มใช้บริการ", "no"),
    ("note", "หมายเหตุ", "no"),
]
CONTRACT_V1_ENUMS = {
    "status": {
        "connected": "เชื่อมต่อแล้ว",
        "procuring": "อยู่ระหว่างจัดหา",
        "not_connected": "ยังไม่เชื่อมต่อ",
        "no_provider": "ไม่มีผู้ให้บริการในพื้นที่",
    },
    "isp": {
        "TOT": "ทีโอที",
        "CAT": "กสท/แคท",
        "True": "ทรู",
        "3BB": "ทริปเปิลที",
        "AIS": "เอไอเอส",
        "DTAC": "ดีแทค",
        "UIH": "UIH",
        "other": "อื่นๆ",
    },
    "link_type": {
        "fiber": "ใยแก้วนำแสง/FTTx",
        "dsl": "ADSL/VDSL",
        "mobile": "3G/4G/5G",
        "satellite": "ดาวเทียม",
        "other": "อื่นๆ",
    },
    "funding_source": {
        "per_student_subsidy": "เงินอุดหนุนรายหัว",
        "obec": "งบ สพฐ.",
        "local_government": "อปท.",
        "donation": "เงินบริจาค",
        "other": "อื่นๆ",
    },
}


def test_schema_columns_agree_with_the_contract() -> None:
    contract = load_contract()
    assert contract.version == 1
    assert contract.data_tab == "โรงเรียน" and contract.feedback_tab == "ผลตรวจสอบ"
    seen = []
    for column in contract.columns:
        requirement = column.required
        if requirement.always:
            required: object = "always"
        elif requirement.when_status:
            required = requirement.when_status
        elif requirement.when_positive:
            required = requirement.when_positive
        else:
            required = "no"
        seen.append((column.key, column.header, required))
    assert seen == CONTRACT_V1_COLUMNS


def test_schema_enums_agree_with_the_contract() -> None:
    contract = load_contract()
    for name, labels in CONTRACT_V1_ENUMS.items():
        assert {v.key: v.label for v in contract.enums[name]} == labels, name
    assert contract.column("providers_contacted").enum == "isp"


def test_registries_agree_with_the_contract() -> None:
    contract = load_contract()
    assert contract.esa_registry_columns == (
        "esa_code",
        "esa_name",
        "level",
        "province",
        "spreadsheet_id",
        "contact_email",
    )
    assert contract.school_registry_columns == (
        "school_code",
        "school_name",
        "esa_code",
        "province",
        "students",
    )


def test_docs_page_is_generated_from_the_current_schema() -> None:
    page = (project_root() / "docs" / "contract.md").read_text(encoding="utf-8")
    assert page == contract_markdown(), "run: schoolnet contract-docs > docs/contract.md"


def test_clerk_shapes_are_read_and_a_misspelt_key_is_refused() -> None:
    shapes = load_contract().clerk_shapes
    assert {"ลำดับ", "ที่", "No."} <= set(shapes.sequence_headers)
    assert {"รวม", "รวมทั้งสิ้น", "ทั้งหมด", "Total"} <= set(shapes.total_labels)
    with CONTRACT_FILE.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    raw["clerk_shapes"]["total_label"] = ["รวม"]
    with pytest.raises(ValueError, match="total_label"):
        parse_contract(raw)
