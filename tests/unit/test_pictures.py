"""The parts of ``make pictures`` that need no browser: the one-section preview and the trim."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image

from schoolnet.devtools.pictures import (
    COLUMN_HEADER_PX,
    COLUMN_PX,
    ROW_HEADER_PX,
    ROW_PX,
    TAB_COLUMNS,
    trim_bottom,
    write_section_preview,
    write_tab_preview,
)

EMAIL = (
    '<html><head><style>x</style></head><body><div class="wrap" style="max-width: 640px">'
    "<h1>รายงาน</h1><h2>สถานะ</h2><p>ก</p>"
    '<h2 style="font-size: 17px">ความเร็วพอสำหรับการเรียนการสอน</h2><p>ถึงเกณฑ์ 10</p>'
    "<h2>ค่าบริการ</h2><p>ข</p></div></body></html>"
)


def test_section_preview_keeps_the_head_the_wrapper_and_one_section(tmp_path: Path) -> None:
    (tmp_path / "preview.html").write_text(EMAIL, encoding="utf-8")
    path = write_section_preview(tmp_path, "ความเร็วพอสำหรับการเรียนการสอน", "speed.html")
    assert path.read_text("utf-8") == (
        '<html><head><style>x</style></head><body><div class="wrap" style="max-width: 640px">'
        '<h2 style="font-size: 17px">ความเร็วพอสำหรับการเรียนการสอน</h2><p>ถึงเกณฑ์ 10</p>'
        "</div></body></html>"
    )


def test_trim_bottom_cuts_the_blank_rows_under_the_content(tmp_path: Path) -> None:
    picture = tmp_path / "shot.png"
    image = Image.new("RGB", (40, 400), "white")
    image.paste((0, 0, 0), (5, 5, 35, 100))
    image.save(picture)
    trim_bottom(picture, margin=10)
    with Image.open(picture) as trimmed:
        assert trimmed.size == (40, 110)


def test_the_tab_preview_draws_cells_as_sheets_does(tmp_path: Path) -> None:
    # Text spills into the empty cells to its right and is cut at the next filled one; only
    # the chosen tab's cells are drawn, and every tab is in the tab bar, the chosen one lit.
    doc = {
        "title": "ข้อมูลอินเทอร์เน็ตโรงเรียน สพป.ทดสอบ",
        "sheets": [
            {"title": "โรงเรียน", "rows": [["รหัสโรงเรียน"]]},
            {"title": "ผลตรวจสอบ", "rows": [["หัวเรื่องยาว"], [], ["12", "C12", "", "ระดับ"]]},
        ],
    }
    page = write_tab_preview(doc, "ผลตรวจสอบ", tmp_path).read_text("utf-8")
    cells = re.findall(
        r'<div class="v" style="left:(\d+)px;top:(\d+)px;width:(\d+)px">([^<]*)<', page
    )
    top, row3 = COLUMN_HEADER_PX, COLUMN_HEADER_PX + 2 * ROW_PX
    assert cells == [
        (str(ROW_HEADER_PX), str(top), str(TAB_COLUMNS * COLUMN_PX - 6), "หัวเรื่องยาว"),
        (str(ROW_HEADER_PX), str(row3), str(COLUMN_PX - 6), "12"),
        (str(ROW_HEADER_PX + COLUMN_PX), str(row3), str(2 * COLUMN_PX - 6), "C12"),
        (
            str(ROW_HEADER_PX + 3 * COLUMN_PX),
            str(row3),
            str((TAB_COLUMNS - 3) * COLUMN_PX - 6),
            "ระดับ",
        ),
    ]
    assert "รหัสโรงเรียน" not in page
    assert re.findall(r'<span class="tab( on)?">([^<]*)<', page) == [
        ("", "โรงเรียน"),
        (" on", "ผลตรวจสอบ"),
    ]
