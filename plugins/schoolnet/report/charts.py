"""The report's charts as PNG images: Thai labels in the shipped Sarabun, sized for a phone.

Each chart is drawn 640 x 360 px (6.4 x 3.6 in at 100 px per inch) and saved at twice that, so it
stays sharp at full width on a 360 px phone screen; labels are large for the same reason. Figures
are built with ``matplotlib.figure.Figure`` on the Agg canvas (no pyplot state, safe in workers)
and saved without metadata, so the same input gives the same bytes.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from schoolnet.core.thai import BE_OFFSET, MONTHS_SHORT, number, percent, thai_date, thai_date_short
from schoolnet.report.fonts import font_properties
from schoolnet.report.texts import report_text

WIDTH_IN, HEIGHT_IN = 6.4, 3.6
BASE_DPI = 100  # 1 in = 100 px as displayed: the figure reads as 640 x 360
SAVE_DPI = 2 * BASE_DPI
TITLE_PT, LABEL_PT, TICK_PT = 17.0, 14.0, 12.5

INK, MUTED, GRID = "#1f2933", "#616e7c", "#d9e2ec"
LINE, FILL, TOTAL_LINE, BAR = "#1565c0", "#bbdefb", "#c62828", "#e65100"


@dataclass(frozen=True)
class Chart:
    """A chart image, its alt text (one Thai sentence with the key figure) and the content id
    the email attaches it under (``<img src="cid:{cid_name}">``)."""

    png: bytes
    alt: str
    cid_name: str

    @property
    def data_uri(self) -> str:
        """The image inline (``data:image/png;base64,...``), for the PDF."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def _new_figure(height_in: float = HEIGHT_IN) -> Figure:
    figure = Figure(figsize=(WIDTH_IN, height_in), dpi=BASE_DPI, facecolor="white")
    FigureCanvasAgg(figure)
    return figure


def render_png(figure: Figure) -> bytes:
    """PNG bytes of ``figure`` at 2x, without the Software tag or any timestamp."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=SAVE_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _as_date(value: date | str) -> date:
    # SQLite hands a DATE column back as ISO text through a plain SELECT.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _month_label(day: date) -> str:
    return f"{MONTHS_SHORT[day.month - 1]} {(day.year + BE_OFFSET) % 100:02d}"


def _date_ticks(first: date, last: date) -> list[tuple[int, str]]:
    """At most six (ordinal, Thai label) ticks: days over a short span, month starts over a long
    one."""
    span = last.toordinal() - first.toordinal()
    if span <= 45:
        step = max(1, -(-span // 5))
        days = range(first.toordinal(), last.toordinal() + 1, step)
        return [(day, thai_date_short(date.fromordinal(day))) for day in days]
    months = []
    cursor = date(first.year, first.month, 1)
    while cursor <= last:
        if cursor >= first:
            months.append(cursor)
        cursor = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
    stride = max(1, -(-len(months) // 6))
    return [(day.toordinal(), _month_label(day)) for day in months[::stride]]


def _set_ticks(axes: Axes, axis: str, ticks: Sequence[tuple[float, str]]) -> None:
    """Fixed ticks with Sarabun labels: fixed, so matplotlib never makes new tick labels in
    its default font at draw time."""
    setter = axes.set_xticks if axis == "x" else axes.set_yticks
    setter(
        [tick for tick, _ in ticks],
        [label for _, label in ticks],
        fontproperties=font_properties(size=TICK_PT),
        color=MUTED,
    )


def progress_figure(
    points: Sequence[tuple[date | str, int]], schools_total: int, report_date: date
) -> Figure:
    """The figure behind :func:`progress_chart` (exposed so tests can inspect its text)."""
    figure = _new_figure()
    axes = figure.add_axes((0.14, 0.17, 0.82, 0.66))
    series = sorted((_as_date(day), int(connected)) for day, connected in points)
    figure.text(
        0.03,
        0.95,
        report_text("progress_title", date=thai_date(report_date)),
        fontproperties=font_properties(size=TITLE_PT, bold=True),
        color=INK,
        va="top",
    )
    first = series[0][0] if series else report_date
    last = max(series[-1][0], report_date) if series else report_date
    low, high = first.toordinal(), last.toordinal()
    if low == high:
        low, high = low - 1, high + 1
    axes.set_xlim(low - 0.5, high + 0.5)
    top = max([schools_total, *(connected for _, connected in series)], default=0)
    axes.set_ylim(0, max(top, 1) * 1.15)

    axes.axhline(schools_total, color=TOTAL_LINE, linewidth=1.6, linestyle="--")
    axes.text(
        low - 0.5 + (high - low + 1) * 0.01,
        schools_total,
        report_text("progress_total", schools=number(schools_total)),
        fontproperties=font_properties(size=LABEL_PT),
        color=TOTAL_LINE,
        va="bottom",
    )
    if series:
        xs = [day.toordinal() for day, _ in series]
        ys = [connected for _, connected in series]
        axes.fill_between(xs, ys, color=FILL, linewidth=0)
        axes.plot(xs, ys, color=LINE, linewidth=2.4, marker="o" if len(xs) <= 31 else None)
        latest_day, latest = series[-1]
        axes.annotate(
            number(latest),
            (latest_day.toordinal(), latest),
            xytext=(0, -8),
            textcoords="offset points",
            ha="right",
            va="top",
            fontproperties=font_properties(size=LABEL_PT, bold=True),
            color=LINE,
        )
    else:
        axes.text(
            0.5,
            0.4,
            report_text("chart_no_data"),
            transform=axes.transAxes,
            ha="center",
            fontproperties=font_properties(size=LABEL_PT),
            color=MUTED,
        )

    _set_ticks(axes, "x", _date_ticks(first, last))
    y_top = axes.get_ylim()[1]
    y_ticks = [value for value in MaxNLocator(nbins=4).tick_values(0, y_top) if value <= y_top]
    _set_ticks(axes, "y", [(value, number(value)) for value in y_ticks])
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.spines["bottom"].set_color(MUTED)
    axes.tick_params(length=0, pad=6)
    return figure


def progress_alt(
    points: Sequence[tuple[date | str, int]], schools_total: int, report_date: date
) -> str:
    series = sorted((_as_date(day), int(connected)) for day, connected in points)
    if not series:
        return report_text("progress_alt_empty", date=thai_date(report_date))
    day, connected = series[-1]
    return report_text(
        "progress_alt",
        date=thai_date(day),
        connected=number(connected),
        schools=number(schools_total),
        share=percent(connected, schools_total),
    )


def progress_chart(
    points: Sequence[tuple[date | str, int]], schools_total: int, report_date: date
) -> Chart:
    """Schools connected on each report date (``points``: (report_date, connected) from
    ``sql/trend.sql``), against every school (``schools_total``), up to ``report_date``."""
    figure = progress_figure(points, schools_total, report_date)
    return Chart(
        png=render_png(figure),
        alt=progress_alt(points, schools_total, report_date),
        cid_name="progress-chart",
    )


def _worst(items: Sequence[tuple[str, int, int]], limit: int) -> list[tuple[str, int, int]]:
    """ESAs with unconnected schools, largest share first (then most schools, then name)."""
    rows = [(label, int(left), int(total)) for label, left, total in items if total and left]
    rows.sort(key=lambda row: (-row[1] / row[2], -row[1], row[0]))
    return rows[:limit]


def esa_gap_figure(items: Sequence[tuple[str, int, int]], limit: int = 10) -> Figure:
    """The figure behind :func:`esa_gap_chart` (exposed so tests can inspect its text)."""
    rows = _worst(items, limit)
    row_in = 0.62
    figure = _new_figure(max(HEIGHT_IN, 1.0 + row_in * len(rows)))
    height = figure.get_figheight()
    title_in = 0.6
    axes = figure.add_axes((0.03, 0.15 / height, 0.94, 1 - (title_in + 0.15) / height))
    figure.text(
        0.03,
        1 - 0.12 / height,
        report_text("esa_gap_title"),
        fontproperties=font_properties(size=TITLE_PT, bold=True),
        color=INK,
        va="top",
    )
    axes.set_axis_off()
    if not rows:
        axes.text(
            0.5,
            0.5,
            report_text("esa_gap_none"),
            transform=axes.transAxes,
            ha="center",
            va="center",
            fontproperties=font_properties(size=LABEL_PT),
            color=MUTED,
        )
        return figure
    widest = max(left / total for _, left, total in rows)
    axes.set_xlim(0, widest * 1.32)
    # Row i: its label just above y = i, its bar from i + 0.04 to i + 0.40 (y grows downwards).
    axes.set_ylim(len(rows) - 0.5, -0.55)
    label_font = font_properties(size=LABEL_PT)
    value_font = font_properties(size=LABEL_PT, bold=True)
    for index, (label, left, total) in enumerate(rows):
        share = left / total
        axes.barh(index + 0.22, share, height=0.36, color=BAR)
        axes.text(0, index - 0.02, label, fontproperties=label_font, color=INK, va="bottom")
        axes.text(
            share + widest * 0.02,
            index + 0.22,
            f"{percent(left, total)} ({number(left)}/{number(total)})",
            fontproperties=value_font,
            color=INK,
            va="center",
        )
    return figure


def esa_gap_alt(items: Sequence[tuple[str, int, int]], limit: int = 10) -> str:
    rows = _worst(items, limit)
    if not rows:
        return report_text("esa_gap_alt_none")
    label, left, total = rows[0]
    return report_text(
        "esa_gap_alt",
        esas=len(rows),
        label=label,
        share=percent(left, total),
        left=number(left),
        total=number(total),
    )


def esa_gap_chart(items: Sequence[tuple[str, int, int]], limit: int = 10) -> Chart:
    """Share of schools still unconnected in the ``limit`` worst ESAs (``items``: (label,
    unconnected, schools)); ESAs with none left, or no schools, are not drawn."""
    return Chart(
        png=render_png(esa_gap_figure(items, limit)),
        alt=esa_gap_alt(items, limit),
        cid_name="esa-gap-chart",
    )
