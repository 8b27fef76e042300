"""The parts of ``make pictures`` that need no browser: the one-section preview and the trim."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from schoolnet.devtools.pictures import trim_bottom, write_section_preview

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
