"""The map of Thailand's 77 provinces: one square tile per province, coloured by the share of its
schools connected, for the email (a CID PNG) and the PDF.

A tile grid needs no boundary data and gives Bangkok's small provinces the same room as Nakhon
Ratchasima. The layout (``maps/thailand_provinces.csv``: province, short label, column, row) was
drawn for this project from the provinces' relative positions, after the idea of the
MIT-licensed ``gridmap-layout-thailand``; see docs/report.md.

Colours are five classes of viridis, picked at even steps of grey, dark for the fewest schools
connected: colour-blind readers see the same order, and a grey print keeps it.
Every tile also prints its percentage, so no figure depends on colour alone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from schoolnet.core.thai import number, thai_date_short
from schoolnet.report.charts import BASE_DPI, INK, MUTED, TITLE_PT, WIDTH_IN, Chart, render_png
from schoolnet.report.daily import ProvinceShare
from schoolnet.report.fonts import font_properties
from schoolnet.report.texts import report_text

GRID_FILE = Path(__file__).resolve().parent / "maps" / "thailand_provinces.csv"

# Class limits of the share connected (tens of percent: the same every day, so a province
# changing colour has moved), and one colour per class (viridis, low to high).
BINS: tuple[float, ...] = (0.6, 0.7, 0.8, 0.9)
COLOURS: tuple[str, ...] = ("#440154", "#3f4889", "#22a785", "#7cd250", "#fde725")
LIGHT_TEXT_CLASSES = 3  # the darkest classes carry white text
NO_DATA = "#f0f0f0"
LABEL_PT, LABEL_MIN_PT, SHARE_PT, LEGEND_PT = 11.0, 7.5, 12.0, 12.5
TILE_GAP = 0.06  # of a tile, between neighbours


@dataclass(frozen=True)
class Tile:
    code: str  # the province's 2-digit code
    province: str  # its Thai name, as the registries spell it
    label: str  # what the tile shows (a short form for the longest names)
    col: int
    row: int


@cache
def province_tiles(path: Path = GRID_FILE) -> tuple[Tile, ...]:
    """The grid, read once per process."""
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(
            Tile(row["code"], row["province"], row["label"], int(row["col"]), int(row["row"]))
            for row in csv.DictReader(handle)
        )


@cache
def mapped_provinces() -> frozenset[str]:
    return frozenset(tile.province for tile in province_tiles())


def shown_percent(share: float) -> int:
    """The whole percent a tile prints; its class is decided on this, so the two agree."""
    return round(share * 100)


def share_class(share: float) -> int:
    """0 (fewest connected) to ``len(BINS)`` (most), by the percent the tile prints."""
    return sum(shown_percent(share) >= round(limit * 100) for limit in BINS)


def class_labels() -> tuple[str, ...]:
    """The legend's Thai labels, one per class, from the fewest connected."""
    limits = [round(limit * 100) for limit in BINS]
    labels = [report_text("map_class_below", limit=limits[0])]
    labels += [f"{low}–{high - 1}%" for low, high in pairwise(limits)]
    labels.append(report_text("map_class_above", limit=limits[-1]))
    return tuple(labels)


def _grid_size(tiles: Iterable[Tile]) -> tuple[int, int]:
    tiles = list(tiles)
    return max(t.col for t in tiles) + 1, max(t.row for t in tiles) + 1


def _fitted_text(
    figure: Figure, axes: Axes, x: float, y: float, text: str, width_px: float, **style: Any
) -> float:
    """Draw ``text`` centred at (x, y) at ``LABEL_PT``, shrunk until it fits ``width_px``;
    returns the size used (never under ``LABEL_MIN_PT``)."""
    size = LABEL_PT
    artist = axes.text(x, y, text, ha="center", va="center", **style)
    # Matplotlib's stubs know get_renderer on the Agg canvas only, which is the one used here.
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]  # Agg's canvas has it; the base class's stub does not
    while True:
        artist.set_fontproperties(font_properties(size=size))
        if artist.get_window_extent(renderer).width <= width_px or size <= LABEL_MIN_PT:
            return size
        size = max(LABEL_MIN_PT, size - 0.5)


def province_map_figure(shares: Iterable[ProvinceShare], report_date: date) -> Figure:
    """The figure behind :func:`province_map` (exposed so tests can inspect its text)."""
    tiles = province_tiles()
    cols, rows = _grid_size(tiles)
    cell_in = WIDTH_IN / cols
    figure = Figure(figsize=(WIDTH_IN, cell_in * rows), dpi=BASE_DPI, facecolor="white")
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, cols)
    axes.set_ylim(rows, 0)
    axes.set_axis_off()
    by_province = {line.province: line for line in shares}
    tile_px = cell_in * BASE_DPI * (1 - TILE_GAP) - 4  # a 2 px margin each side
    for tile in tiles:
        line = by_province.get(tile.province)
        share = line.share if line else None
        x, y = tile.col + TILE_GAP / 2, tile.row + TILE_GAP / 2
        side = 1 - TILE_GAP
        if share is None:
            axes.add_patch(
                Rectangle((x, y), side, side, facecolor=NO_DATA, edgecolor=MUTED, hatch="///")
            )
            colour = INK
        else:
            klass = share_class(share)
            axes.add_patch(Rectangle((x, y), side, side, facecolor=COLOURS[klass], linewidth=0))
            colour = "white" if klass < LIGHT_TEXT_CLASSES else INK
        centre = tile.col + 0.5
        _fitted_text(figure, axes, centre, tile.row + 0.33, tile.label, tile_px, color=colour)
        axes.text(
            centre,
            tile.row + 0.68,
            "–" if share is None else f"{shown_percent(share)}%",
            ha="center",
            va="center",
            color=colour,
            fontproperties=font_properties(size=SHARE_PT, bold=True),
        )
    _title(axes, cols, report_date)
    _legend(axes, cols)
    missing = sum(
        line.schools for line in by_province.values() if line.province not in mapped_provinces()
    )
    if missing:
        axes.text(
            cols - 0.1,
            rows - 1.35,
            report_text("map_unmapped", schools=number(missing)),
            ha="right",
            va="top",
            color=MUTED,
            fontproperties=font_properties(size=LEGEND_PT - 2),
        )
    return figure


def _title(axes: Axes, cols: int, report_date: date) -> None:
    axes.text(
        cols - 0.1,
        0.15,
        report_text("map_title", date=thai_date_short(report_date)),
        ha="right",
        va="top",
        color=INK,
        linespacing=1.3,
        fontproperties=font_properties(size=TITLE_PT, bold=True),
    )


def _legend(axes: Axes, cols: int) -> None:
    """Classes from the fewest connected, then no data, in the grid's empty south-east."""
    left, top, step = cols - 4.6, 11.0, 0.62
    axes.text(
        left,
        top,
        report_text("map_legend_title"),
        va="top",
        color=INK,
        fontproperties=font_properties(size=LEGEND_PT, bold=True),
    )
    entries = [*zip(COLOURS, class_labels(), strict=True), (NO_DATA, report_text("map_no_data"))]
    for index, (colour, label) in enumerate(entries):
        y = top + 0.7 + index * step
        axes.add_patch(
            Rectangle(
                (left, y),
                0.5,
                0.45,
                facecolor=colour,
                edgecolor=MUTED if colour == NO_DATA else "none",
                hatch="///" if colour == NO_DATA else None,
            )
        )
        axes.text(
            left + 0.7,
            y + 0.23,
            label,
            va="center",
            color=INK,
            fontproperties=font_properties(size=LEGEND_PT),
        )


def province_map_alt(shares: Iterable[ProvinceShare]) -> str:
    """One Thai sentence: how many provinces are drawn and the one with the fewest connected."""
    known = mapped_provinces()
    lines = [line for line in shares if line.province in known and line.share is not None]
    if not lines:
        return report_text("map_alt_empty")
    worst = min(lines, key=lambda line: (line.share or 0.0, line.province or ""))
    return report_text(
        "map_alt",
        provinces=len(lines),
        province=worst.province,
        percent=(worst.share or 0.0) * 100,
        connected=number(worst.connected),
        schools=number(worst.schools),
    )


def _palette_png(png: bytes) -> bytes:
    """The PNG in 64 colours: flat tiles and anti-aliased text lose nothing visible, and the
    email carries a third of the bytes (same input, same bytes: no dithering). The fast octree
    quantizer without PNG optimisation: 0.4 s, where median cut and ``optimize`` took 1.5 s
    for 17% fewer bytes."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    paletted = image.quantize(colors=64, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    paletted.save(buffer, format="PNG")
    return buffer.getvalue()


def province_map(shares: Iterable[ProvinceShare], report_date: date) -> Chart:
    """The province map as a chart image (``cid_name`` ``province-map``)."""
    shares = tuple(shares)
    return Chart(
        png=_palette_png(render_png(province_map_figure(shares, report_date))),
        alt=province_map_alt(shares),
        cid_name="province-map",
    )
