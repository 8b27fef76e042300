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


def test_the_tab_preview_draws_the_widths_frozen_rows_bold_and_wrap_the_sheet_holds(
    tmp_path: Path,
) -> None:
    # As the emulator keeps them after the feedback tab's write: a wide, wrapped message
    # column stays within its own width (the row grows in the browser), a bold heading, and
    # the frozen line under the heading; the window is as wide as the sized columns and one more.
    message = "กรอกจำนวนนักเรียนเป็นตัวเลข " * 6
    doc = {
        "title": "ชีต",
        "sheets": [
            {
                "title": "ผลตรวจสอบ",
                "rows": [["หัวเรื่องยาว"], ["แถว", "สิ่งที่ต้องทำ", "ค่า"], ["7", message, "x"]],
                "gridProperties": {"frozenRowCount": 2},
                "columnMetadata": [{"pixelSize": 50}, {"pixelSize": 700}, {"pixelSize": 250}],
                "formats": [
                    {
                        "range": {"startRowIndex": 1, "endRowIndex": 2},
                        "userEnteredFormat": {"textFormat": {"bold": True}},
                    },
                    {
                        "range": {"startRowIndex": 1, "startColumnIndex": 1, "endColumnIndex": 2},
                        "userEnteredFormat": {"wrapStrategy": "WRAP"},
                    },
                ],
            }
        ],
    }
    page = write_tab_preview(doc, "ผลตรวจสอบ", tmp_path).read_text("utf-8")
    cells = re.findall(
        r'<div class="([^"]+)" style="left:(\d+)px;top:\d+px;width:(\d+)px">([^<]*)<', page
    )
    sized = 50 + 700 + 250  # wider than the default window of TAB_COLUMNS columns
    assert cells == [
        ("v", str(ROW_HEADER_PX), str(sized + COLUMN_PX - 6), "หัวเรื่องยาว"),
        ("v b", str(ROW_HEADER_PX), str(50 - 6), "แถว"),
        ("v w b", str(ROW_HEADER_PX + 50), str(700 - 6), "สิ่งที่ต้องทำ"),
        ("v b", str(ROW_HEADER_PX + 750), str(250 + COLUMN_PX - 6), "ค่า"),
        ("v", str(ROW_HEADER_PX), str(50 - 6), "7"),
        ("v w", str(ROW_HEADER_PX + 50), str(700 - 6), message),
        ("v", str(ROW_HEADER_PX + 750), str(250 + COLUMN_PX - 6), "x"),
    ]
    widths = re.findall(r'<col style="width:(\d+)px">', page)
    assert widths == ["50", "700", "250", str(COLUMN_PX)]
    assert "(r + 1 === 2)" in page  # the thick line goes under the second row
