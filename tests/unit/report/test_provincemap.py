"""The province tile map: its grid covers the 77 provinces the registries name, its colours keep
their order in grey and for colour-blind readers, and every tile is labelled legibly."""

from __future__ import annotations

import io
from datetime import date
from itertools import pairwise

import pytest
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from PIL import Image

from schoolnet.devtools.demo.provinces import PROVINCES
from schoolnet.report.daily import ProvinceShare
from schoolnet.report.provincemap import (
    COLOURS,
    LABEL_MIN_PT,
    NO_DATA,
    class_labels,
    province_map,
    province_map_alt,
    province_map_figure,
    province_tiles,
    share_class,
)

DAY = date(2018, 1, 16)


def test_the_grid_places_every_province_once() -> None:
    tiles = province_tiles()
    assert len(tiles) == 77
    assert len({(t.col, t.row) for t in tiles}) == 77
    assert {(t.code, t.province) for t in tiles} == {(p.code, p.name) for p in PROVINCES}


def test_the_grid_keeps_the_regions_apart() -> None:
    at = {t.province: (t.col, t.row) for t in province_tiles()}
    # North above Bangkok above the South; the North-East east of the Central plain.
    assert at["เชียงราย"][1] < at["กรุงเทพมหานคร"][1] < at["สงขลา"][1] < at["นราธิวาส"][1]
    assert at["อุบลราชธานี"][0] > at["นครราชสีมา"][0] > at["ลพบุรี"][0]
    assert at["ภูเก็ต"][0] < at["นครศรีธรรมราช"][0]  # Andaman coast west of the Gulf


@pytest.mark.parametrize(
    ("share", "klass"),
    [(0.0, 0), (0.5949, 0), (0.5951, 1), (0.7, 2), (0.7949, 2), (0.7951, 3), (0.9, 4), (1.0, 4)],
)
def test_share_classes_follow_the_printed_percent(share: float, klass: int) -> None:
    assert share_class(share) == klass  # 0.7951 prints 80%: class 80–89, not 70–79


def test_legend_labels() -> None:
    assert class_labels() == ("ต่ำกว่า 60%", "60–69%", "70–79%", "80–89%", "90% ขึ้นไป")


def rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]  # always three values: a tuple of floats, not a fixed-length one


def grey(colour: tuple[float, float, float]) -> float:
    """The grey a printer gives (Rec. 601 luma)."""
    red, green, blue = colour
    return 0.299 * red + 0.587 * green + 0.114 * blue


# Viénot, Brettel and Mollon (1999): dichromat simulation on linear RGB.
SIMULATIONS = {
    "protanopia": ((0.11238, 0.88762, 0.0), (0.11238, 0.88762, 0.0), (0.00401, -0.00401, 1.0)),
    "deuteranopia": ((0.29275, 0.70725, 0.0), (0.29275, 0.70725, 0.0), (-0.02234, 0.02234, 1.0)),
}


def simulate(
    colour: tuple[float, float, float], matrix: tuple[tuple[float, ...], ...]
) -> tuple[float, float, float]:
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in colour]
    out = [
        max(0.0, min(1.0, sum(m * c for m, c in zip(row, linear, strict=True)))) for row in matrix
    ]
    r, g, b = (c * 12.92 if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055 for c in out)
    return r, g, b


def test_classes_get_lighter_in_grey_print() -> None:
    greys = [grey(rgb(colour)) for colour in COLOURS]
    assert all(b - a >= 0.12 for a, b in pairwise(greys)), greys


@pytest.mark.parametrize("vision", sorted(SIMULATIONS))
def test_classes_stay_in_order_for_colour_blind_readers(vision: str) -> None:
    greys = [grey(simulate(rgb(colour), SIMULATIONS[vision])) for colour in COLOURS]
    assert all(b - a >= 0.08 for a, b in pairwise(greys)), greys


def shares() -> list[ProvinceShare]:
    lines = [ProvinceShare(p.name, 100, 40 + i % 61) for i, p in enumerate(PROVINCES)]
    lines = [line for line in lines if line.province != "ยะลา"]  # no data for one province
    return [*lines, ProvinceShare(None, 7, 1), ProvinceShare("เมืองสมมุติ", 5, 5)]


def texts(figure: object) -> list[Text]:
    return list(figure.axes[0].texts)  # type: ignore[attr-defined]  # Axes has texts; matplotlib's stub omits it


def test_every_tile_shows_its_name_and_share() -> None:
    figure = province_map_figure(shares(), DAY)
    shown = [text.get_text() for text in texts(figure)]
    for tile in province_tiles():
        assert tile.label in shown
    assert "40%" in shown  # กรุงเทพมหานคร, the first: 40 of 100
    assert shown.count("–") == 1  # ยะลา, no schools reported
    assert any("16 ม.ค. 61" in text for text in shown)
    # Schools whose province is not one of the 77 are counted, not dropped.
    assert any("ไม่อยู่ในแผนที่ 12 โรงเรียน" in text for text in shown)


def test_labels_fit_their_tiles_at_a_legible_size() -> None:
    figure = province_map_figure(shares(), DAY)
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]  # Agg's canvas has it; the base class's stub does not
    tiles = [p for p in figure.axes[0].patches if isinstance(p, Rectangle)]
    tile_px = tiles[0].get_window_extent(renderer).width
    labels = {tile.label for tile in province_tiles()}
    for text in texts(figure):
        if text.get_text() in labels:
            assert float(text.get_fontsize()) >= LABEL_MIN_PT
            assert text.get_window_extent(renderer).width <= tile_px, text.get_text()


def test_a_province_without_schools_is_hatched_not_coloured() -> None:
    figure = province_map_figure(shares(), DAY)
    hatched = [
        p
        for p in figure.axes[0].patches
        if p.get_hatch() and p.get_facecolor()[:3] == pytest.approx(rgb(NO_DATA))
    ]
    assert len(hatched) == 2  # ยะลา and the legend's swatch


def test_the_image_and_its_alt_text() -> None:
    chart = province_map(shares(), DAY)
    image = Image.open(io.BytesIO(chart.png))
    assert image.width == 1280 and image.height > image.width
    assert len(chart.png) < 250_000  # a palette PNG: light enough for a phone on mobile data
    assert chart.png == province_map(shares(), DAY).png  # same input, same bytes
    assert chart.alt == province_map_alt(shares())
    assert "น้อยที่สุดคือ กรุงเทพมหานคร 40.0% (40 จาก 100 โรงเรียน)" in chart.alt
    assert province_map_alt([]) == "แผนที่รายจังหวัด: ยังไม่มีข้อมูล"
