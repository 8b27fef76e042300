"""The report's charts: PNG at 2x phone size, same bytes for the same input, Thai in Sarabun."""

from __future__ import annotations

import logging
import struct
import warnings
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from matplotlib._text_helpers import layout
from matplotlib.figure import Figure
from matplotlib.font_manager import findfont
from matplotlib.ft2font import FT2Font
from matplotlib.text import Text

from schoolnet.report.charts import (
    Chart,
    esa_gap_chart,
    esa_gap_figure,
    progress_chart,
    progress_figure,
    render_png,
)
from schoolnet.report.fonts import FONT_DIR, font_file

START = date(2018, 1, 1)
YEAR = [(START + timedelta(days=i), 20_000 + 25 * i) for i in range(365)]
ESAS = [(f"สพป.กำแพงเพชร เขต {i}", 7 * i, 300) for i in range(1, 14)] + [("สพม.น่าน", 0, 90)]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def drawn_texts(figure: Figure) -> list[Text]:
    """Every non-empty text the figure draws: titles, labels and visible tick labels."""
    texts = list(figure.texts)
    for axes in figure.axes:
        texts += axes.texts
        if axes.axison:
            texts += [*axes.get_xticklabels(), *axes.get_yticklabels()]
    return [text for text in texts if text.get_visible() and text.get_text()]


def test_progress_chart_is_a_2x_phone_png_with_thai_alt_text() -> None:
    chart = progress_chart(YEAR, 29_118, YEAR[-1][0])
    assert isinstance(chart, Chart)
    assert png_size(chart.png) == (1280, 720)
    assert chart.cid_name == "progress-chart"
    assert chart.alt == "กราฟโรงเรียนที่มีอินเทอร์เน็ต: 31 ธันวาคม 2561 มี 29,100 จาก 29,118 โรงเรียน (99.9%)"
    assert chart.data_uri.startswith("data:image/png;base64,iVBORw0KGgo")


def test_same_input_gives_the_same_bytes_and_no_timestamp() -> None:
    first = progress_chart(YEAR, 29_118, YEAR[-1][0]).png
    assert progress_chart(list(YEAR), 29_118, YEAR[-1][0]).png == first
    assert esa_gap_chart(ESAS).png == esa_gap_chart(list(reversed(ESAS))).png
    assert b"tIME" not in first and b"Software" not in first
    assert progress_chart(YEAR[:-1], 29_118, YEAR[-1][0]).png != first


def test_x_axis_is_thai_short_dates_in_buddhist_era() -> None:
    year = progress_figure(YEAR, 29_118, YEAR[-1][0])
    labels = [t.get_text() for t in year.axes[0].get_xticklabels()]
    assert labels[0] == "ม.ค. 61" and "พ.ย. 61" in labels and len(labels) <= 6
    fortnight = progress_figure(YEAR[:14], 29_118, YEAR[13][0])
    labels = [t.get_text() for t in fortnight.axes[0].get_xticklabels()]
    assert labels[0] == "1 ม.ค. 61" and len(labels) <= 6
    texts = [t.get_text() for t in fortnight.findobj(Text)]
    assert "โรงเรียนทั้งหมด 29,118" in texts
    assert "โรงเรียนที่มีอินเทอร์เน็ต ถึง 14 มกราคม 2561" in texts


@pytest.mark.parametrize(
    "figure",
    [
        pytest.param(lambda: progress_figure(YEAR, 29_118, YEAR[-1][0]), id="progress"),
        pytest.param(lambda: esa_gap_figure(ESAS), id="esa-gap"),
    ],
)
def test_thai_is_drawn_in_shipped_sarabun_without_missing_glyphs(
    figure: Callable[[], Figure], caplog: pytest.LogCaptureFixture
) -> None:
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        built = figure()
        png = render_png(built)
    assert png[:8] == PNG_SIGNATURE
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "missing from font" in m or "findfont" in m.lower()]
    texts = drawn_texts(built)
    assert len([t for t in texts if any("\u0e00" <= c <= "\u0e7f" for c in t.get_text())]) >= 3
    for text in texts:
        used = findfont(text.get_fontproperties())
        assert used.startswith(str(FONT_DIR)) and "Sarabun-" in used, (text.get_text(), used)


def test_this_matplotlib_shapes_thai_with_sarabun() -> None:
    # Shaping (libraqm) turns NIKHAHIT + MAI THO into one positioned glyph; matplotlib before
    # 3.11 drew the code points one by one, with the tone mark on top of the nikhahit.
    font = FT2Font(str(font_file()))
    names = [font.get_glyph_name(item.glyph_index) for item in layout("น้ำ", font)]
    assert names == ["uni0E19", "uni0E4D0E49", "uni0E32"]


def test_single_point_and_empty_inputs_still_draw() -> None:
    one = progress_chart(YEAR[:1], 29_118, START)
    assert png_size(one.png) == (1280, 720)
    assert "20,000 จาก 29,118" in one.alt
    empty = progress_chart([], 29_118, START)
    assert png_size(empty.png) == (1280, 720)
    assert empty.alt == "กราฟโรงเรียนที่มีอินเทอร์เน็ต: ยังไม่มีข้อมูลถึง 1 มกราคม 2561"
    # SQLite returns dates as ISO text through a plain SELECT.
    as_text = progress_chart([("2018-01-01", 20_000)], 29_118, START)
    assert as_text.png == one.png
    assert esa_gap_chart([]).alt == "กราฟรายเขตพื้นที่: ทุกเขตพื้นที่มีอินเทอร์เน็ตครบทุกโรงเรียน"
    assert png_size(esa_gap_chart([("สพม.น่าน", 0, 90)]).png)[0] == 1280


def test_esa_gap_chart_shows_the_worst_shares_first_with_percent_labels() -> None:
    chart = esa_gap_chart(ESAS, limit=5)
    assert chart.cid_name == "esa-gap-chart"
    assert chart.alt.startswith("กราฟ 5 เขตพื้นที่")
    assert "สพป.กำแพงเพชร เขต 13 30.3% (91 จาก 300 โรงเรียน)" in chart.alt
    texts = [t.get_text() for t in esa_gap_figure(ESAS, limit=5).findobj(Text)]
    labels = [t for t in texts if t.startswith("สพป.")]
    assert labels == [f"สพป.กำแพงเพชร เขต {i}" for i in (13, 12, 11, 10, 9)]
    assert "30.3% (91/300)" in texts and "สพม.น่าน" not in texts
    width, height = png_size(chart.png)
    assert width == 1280 and height >= 720
