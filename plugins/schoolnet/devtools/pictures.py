"""Pictures of the report for the docs: the email as a browser shows it (phone and desktop
widths), its speed section at phone width, the province map, the PDF's first page, and an ESA's
feedback email with its sheet's feedback tab and data tab (the marks on its cells, one note
open), regenerated from a rendered report folder (and the mail sink and the emulator's sheets)
by one command.

The email's HTML refers to its charts as ``cid:`` parts, which only a mail client resolves; a
``preview.html`` beside it points at the chart files instead, for browsers (and people).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html import escape as html_escape
from pathlib import Path
from typing import Any

from schoolnet.core.files import replacing, write_atomically
from schoolnet.core.paths import project_root
from schoolnet.validation.findings import column_letters

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
VIEWS = {"email-phone.png": (360, 2400), "email-desktop.png": (1100, 1500)}
PDF_PICTURE = "report-pdf-page1.png"
MAP_PICTURE = "province-map.png"  # the map image itself, as the email attaches it
SPEED_PICTURE = "email-speed-phone.png"  # the email's speed section at phone width
SPEED_HEADING = "ความเร็วพอสำหรับการเรียนการสอน"
FEEDBACK_PICTURE = "esa-feedback-phone.png"  # an ESA's feedback email, its standing on top
FEEDBACK_MOST_ROWS = 5  # table rows (<tr>) of the email pictured: a heading and four findings
TAB_PICTURE = "esa-feedback-tab.png"  # the same ESA's ผลตรวจสอบ tab, as Google Sheets shows it
# Google Sheets' defaults for a tab nobody formatted: what the clerk sees on opening it.
COLUMN_PX = 100
ROW_PX = 21
ROW_HEADER_PX = 46
COLUMN_HEADER_PX = 24
TAB_COLUMNS = 9  # what a laptop's window shows
TAB_ROWS = 12
TAB_MOST_ROWS = 36  # what fits the picture's window, with the tab bar below
TAB_SHEET_PX = 800  # the grid's height in that window; rows grown by wrapping go out of sight
WRAP_LINE_PX = 17  # a wrapped cell's line height
DATA_PICTURE = "esa-data-tab-marks.png"  # the same ESA's data tab, with the marks on its cells
NOTE_PX = 220  # an open note's width, as Sheets draws one on hover
NOTE_CORNER_PX = 6  # the triangle in the top-right corner of a cell with a note
MARKS_TOP_ROWS = 30  # a first mark within these rows is pictured from row 1
MARKS_ABOVE = 5  # else the window starts this many rows above it


def _manifest_name() -> str:
    """The report folder's manifest file name. The report's modules (charts, PDF) are imported
    only when a picture is made, not for every ``schoolnet`` command that builds its parser."""
    from schoolnet.report.files import MANIFEST as name

    return name


def font_face_css() -> str:
    """The shipped Thai font, declared for a browser (imported when used, as above)."""
    from schoolnet.report.fonts import font_face_css as declared

    return declared()


def latest_report_folder(report_dir: Path) -> Path:
    folders = sorted(p.parent for p in report_dir.glob(f"*/{_manifest_name()}"))
    if not folders:
        raise FileNotFoundError(
            f"no rendered report under {report_dir}: run `make demo` first, then this again"
        )
    return folders[-1]


def write_preview(folder: Path) -> Path:
    """``preview.html``: the email's HTML with each ``cid:`` image pointing at its file, and the
    shipped Thai font declared."""
    manifest: dict[str, Any] = json.loads((folder / _manifest_name()).read_text("utf-8"))
    html = (folder / manifest["html"]).read_text("utf-8")
    for image in manifest["images"]:
        html = html.replace(f'src="cid:{image["cid"]}"', f'src="{image["file"]}"')
    # Phones and mail clients have a Thai font; a bare server's browser may not: give it the
    # project's own Sarabun, as the PDF has.
    html = html.replace("</head>", f"<style>{font_face_css()}</style></head>", 1)
    preview = folder / "preview.html"
    write_atomically(preview, html)
    return preview


def write_section_preview(folder: Path, heading: str, name: str) -> Path:
    """A preview of the email holding only the section under the ``<h2>`` ``heading``."""
    html = (folder / "preview.html").read_text("utf-8")
    body = html.index("<body")
    opening = html.index(">", html.index("<div", body)) + 1  # the email's own wrapper
    start = html.rindex("<h2", 0, html.index(f">{heading}</h2>"))
    end = html.find("<h2", start + 1)
    section = html[start : end if end >= 0 else html.rindex("</div>")]
    preview = folder / name
    write_atomically(preview, html[:opening] + section + "</div></body></html>")
    return preview


def chosen_feedback(mail_dir: Path) -> tuple[str, str] | None:
    """The ESA code and HTML part of the feedback email with the most table rows up to
    `FEEDBACK_MOST_ROWS`, so that it fits one phone screen (the demo's mail sink keeps every
    message); None when none was sent."""
    import email
    from email.policy import default as default_policy

    best: tuple[int, str, str] | None = None
    for path in sorted(mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        if "ผลตรวจสอบข้อมูล" not in str(message["Subject"] or ""):
            continue
        part = message.get_body(preferencelist=("html",))
        named = re.search(r"\.esa-(\d+)\.", path.name)
        if part is None or named is None:
            continue
        html = part.get_content()
        rows = html.count("<tr")
        if (
            'id="standing"' in html
            and rows <= FEEDBACK_MOST_ROWS
            and (best is None or rows > best[0])
        ):
            best = (rows, named.group(1), html)
    return None if best is None else (best[1], best[2])


def write_feedback_preview(mail_dir: Path, folder: Path) -> Path | None:
    """The chosen ESA feedback email's HTML (``chosen_feedback``) with the shipped font
    declared; None when no feedback was sent."""
    chosen = chosen_feedback(mail_dir)
    if chosen is None:
        return None
    preview = folder / "feedback-preview.html"
    write_atomically(
        preview, chosen[1].replace("</head>", f"<style>{font_face_css()}</style></head>", 1)
    )
    return preview


def write_tab_preview(doc: dict[str, Any], tab: str, folder: Path) -> Path:
    """A page showing one tab of a spreadsheet as Google Sheets draws it for a clerk who
    opens it, from what the sheet holds: its column widths (100 px where none was set), its
    frozen rows (the thick line under them), bold cells, and wrapped cells whose row grows
    to hold their lines (laid out by the browser, as Sheets does); other text spills into
    empty cells to its right and is cut at the next filled one. Row numbers, column letters
    and the tab bar with the tab selected are drawn as well."""
    sheet = next(sheet for sheet in doc["sheets"] if sheet["title"] == tab)
    rows = sheet.get("rows") or []
    shown = list(range(min(max(len(rows) + 4, TAB_ROWS), TAB_MOST_ROWS)))
    preview = folder / "tab-preview.html"
    write_atomically(preview, _tab_page(doc, tab, shown, {}, None, _shown_columns(sheet)))
    return preview


@dataclass(frozen=True)
class Mark:
    """What a cell carries besides its value: its note, and its background colour as CSS."""

    note: str | None
    color: str | None


@dataclass(frozen=True)
class MarksView:
    """The window of a tab pictured with its marks: the rows shown (0-based, top to bottom),
    every cell's mark, and the cell whose note is shown open (None: no note in the window)."""

    rows: list[int]
    marks: dict[tuple[int, int], Mark]
    opened: tuple[int, int] | None


def sheet_marks(sheet: dict[str, Any]) -> dict[tuple[int, int], Mark]:
    """Each cell's note and background colour, by (row, column), 0-based, as
    ``spreadsheets.get`` with ``includeGridData`` answers them (the emulator's own grid data);
    cells with neither are left out."""
    from schoolnet.devtools.emulator.server import grid_data
    from schoolnet.devtools.emulator.state import Bounds

    data = grid_data(sheet, Bounds(0, 0, None, None))
    top, left = data.get("startRow", 0), data.get("startColumn", 0)
    found: dict[tuple[int, int], Mark] = {}
    for r, row in enumerate(data.get("rowData") or []):
        for c, cell in enumerate(row.get("values") or []):
            note = cell.get("note") or None
            color = _css_color((cell.get("userEnteredFormat") or {}).get("backgroundColor"))
            if note is not None or color is not None:
                found[(top + r, left + c)] = Mark(note, color)
    return found


def _css_color(color: dict[str, Any] | None) -> str | None:
    """A Sheets Color (components 0 to 1, a missing one 0) as ``#rrggbb``, rounded as the
    pipeline records its marks' colours; None for none."""
    from schoolnet.ingestion.ingest import rgb_hex

    if not color:
        return None
    red, green, blue = (float(color.get(name, 0)) for name in ("red", "green", "blue"))
    return rgb_hex((red, green, blue))


def marks_view(sheet: dict[str, Any]) -> MarksView:
    """Which rows of a tab to picture with its marks, and which note to show open: the first
    note in row order on a coloured cell (a finding's mark), else the first note, else none;
    the window starts at row 1 when that cell (or, with no note, the first coloured cell) is
    within the first ``MARKS_TOP_ROWS`` rows, else ``MARKS_ABOVE`` rows above it, with the
    frozen rows kept on top as Sheets keeps them when scrolled."""
    marks = sheet_marks(sheet)
    noted = sorted(
        (where for where, mark in marks.items() if mark.note),
        key=lambda where: (marks[where].color is None, where),
    )
    anchor = noted[0] if noted else (min(marks) if marks else None)
    start = 0 if anchor is None or anchor[0] < MARKS_TOP_ROWS else anchor[0] - MARKS_ABOVE
    frozen = int((sheet.get("gridProperties") or {}).get("frozenRowCount") or 0)
    kept = list(range(min(frozen, start)))
    # The rows written and a few empty ones, or down to a few rows under the marked cell.
    wanted = max(len(sheet.get("rows") or []) - start, anchor[0] - start if anchor else 0) + 4
    count = min(max(wanted, TAB_ROWS), TAB_MOST_ROWS - len(kept))
    return MarksView(kept + list(range(start, start + count)), marks, noted[0] if noted else None)


def write_marks_preview(doc: dict[str, Any], tab: str, folder: Path) -> tuple[Path, MarksView]:
    """A page showing ``tab`` as ``write_tab_preview`` does, with the marks left on its cells
    as Sheets shows them: each cell with a note has the small dark triangle in its top-right
    corner, each cell with a background colour is filled with it, and one note
    (``marks_view``) is open beside its cell as on hover; the rows shown are its window."""
    sheet = next(sheet for sheet in doc["sheets"] if sheet["title"] == tab)
    view = marks_view(sheet)
    columns = _marks_columns(sheet, view)
    preview = folder / "marks-preview.html"
    write_atomically(preview, _tab_page(doc, tab, view.rows, view.marks, view.opened, columns))
    return preview, view


def _marks_columns(sheet: dict[str, Any], view: MarksView) -> tuple[list[int], list[int]]:
    """The columns of a marks picture: a laptop's window, widened to show the open note's
    cell and the column after it."""
    return _shown_columns(sheet, view.opened[1] + 2 if view.opened else 0)


def _tab_page(
    doc: dict[str, Any],
    tab: str,
    shown: list[int],
    marks: dict[tuple[int, int], Mark],
    opened: tuple[int, int] | None,
    columns: tuple[list[int], list[int]],
) -> str:
    """The page of ``write_tab_preview``: the rows ``shown`` of ``tab`` (0-based, top to
    bottom), each cell's mark drawn, and the note of the cell ``opened`` shown open."""
    from schoolnet.devtools.emulator.server import cell_format
    from schoolnet.devtools.emulator.state import is_empty, render_cell

    sheet = next(sheet for sheet in doc["sheets"] if sheet["title"] == tab)
    rows = sheet.get("rows") or []
    widths, lefts = columns
    frozen = int((sheet.get("gridProperties") or {}).get("frozenRowCount") or 0)
    lines = []
    grid = []
    for line, r in enumerate(shown):
        row = rows[r] if r < len(rows) else []
        filled = [c for c, value in enumerate(row) if not is_empty(value)]
        cells = []
        for c in filled:
            if c >= len(widths):
                break
            look = cell_format(sheet, r, c)
            wrapped = look.get("wrapStrategy") in ("WRAP", "LEGACY_WRAP")
            following = [n for n in filled if n > c]
            end = c + 1 if wrapped else min(following[0] if following else len(widths), len(widths))
            kind = (
                "v"
                + (" w" if wrapped else "")
                + (" b" if look.get("textFormat", {}).get("bold") else "")
            )
            text = render_cell(row[c], "FORMATTED_VALUE", "SERIAL_NUMBER")
            cells.append(
                f'<div class="{kind}" style="left:{lefts[c]}px;'
                f'top:{COLUMN_HEADER_PX + line * ROW_PX}px;width:{lefts[end] - lefts[c] - 6}px">'
                f"{html_escape(str(text))}</div>"
            )
        lines.append(f'<div class="line">{"".join(cells)}</div>')
        boxes = "".join(_grid_cell(marks.get((r, c))) for c in range(len(widths)))
        grid.append(f"<tr><th>{r + 1}</th>{boxes}</tr>")
    note = ""
    if opened is not None and opened[0] in shown and opened[1] < len(widths):
        line = shown.index(opened[0])
        note = (
            f'<div class="note" data-line="{line}" style="left:{lefts[opened[1] + 1] + 4}px;'
            f'top:{COLUMN_HEADER_PX + line * ROW_PX}px">'
            f"{html_escape(marks[opened].note or '')}</div>"
        )
    letters = "".join(f"<th>{column_letters(c)}</th>" for c in range(len(widths)))
    colgroup = "".join(f'<col style="width:{width}px">' for width in widths)
    tabs = "".join(
        f'<span class="tab{" on" if sheet["title"] == tab else ""}">'
        f"{html_escape(sheet['title'])}</span>"
        for sheet in doc["sheets"]
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
{font_face_css()}
body {{ margin: 0; font: 13px Sarabun, Arial, sans-serif; color: #202124; background: #fff; }}
.title {{ padding: 10px 14px; font-size: 17px; border-bottom: 1px solid #dadce0; }}
.sheet {{ position: relative; overflow: hidden; max-height: {TAB_SHEET_PX}px; }}
table {{ border-collapse: collapse; table-layout: fixed; }}
th, td {{ border: 1px solid #e2e3e3; height: {ROW_PX - 1}px; padding: 0; }}
th {{ background: #f8f9fa; color: #5f6368; font-weight: normal; font-size: 11px; }}
tr:first-child th {{ height: {COLUMN_HEADER_PX - 1}px; }}
col.n {{ width: {ROW_HEADER_PX}px; }}
td.noted {{ position: relative; }}
td.noted::after {{ content: ""; position: absolute; top: 0; right: 0; z-index: 1;
      border-left: {NOTE_CORNER_PX}px solid transparent;
      border-top: {NOTE_CORNER_PX}px solid #202124; }}
.v {{ position: absolute; height: {ROW_PX}px; line-height: {ROW_PX}px; padding: 0 3px;
      white-space: nowrap; overflow: hidden; }}
.v.w {{ height: auto; line-height: {WRAP_LINE_PX}px; padding: 2px 3px; white-space: normal;
        overflow-wrap: anywhere; }}
.v.b {{ font-weight: bold; }}
.note {{ position: absolute; width: {NOTE_PX}px; padding: 6px 8px; background: #fffbe6;
         border: 1px solid #c9c9c9; box-shadow: 0 2px 6px rgba(60, 64, 67, 0.35);
         line-height: {WRAP_LINE_PX}px; white-space: pre-wrap; overflow-wrap: anywhere;
         z-index: 2; }}
.freeze {{ position: absolute; left: 0; right: 0; height: 4px; background: #c4c7c5; }}
.tabs {{ background: #f1f3f4; border-top: 1px solid #dadce0; padding: 0 0 0 {ROW_HEADER_PX}px; }}
.tab {{ display: inline-block; padding: 8px 16px; color: #5f6368; }}
.tab.on {{ background: #e1e9f7; color: #0b57d0; font-weight: bold; }}
</style></head><body>
<div class="title">{html_escape(str(doc.get("title", "")))}</div>
<div class="sheet"><table><colgroup><col class="n">{colgroup}</colgroup>
<tr><th></th>{letters}</tr>{"".join(grid)}</table>{"".join(lines)}{note}</div>
<div class="tabs">{tabs}</div>
<script>{_REFLOW % {"row": ROW_PX, "head": COLUMN_HEADER_PX, "frozen": frozen}}</script>
</body></html>"""


def _grid_cell(mark: Mark | None) -> str:
    """One cell of the grid: filled with its background colour, and with the note's corner
    triangle when it has a note."""
    if mark is None:
        return "<td></td>"
    kind = ' class="noted"' if mark.note else ""
    fill = f' style="background:{mark.color}"' if mark.color else ""
    return f"<td{kind}{fill}></td>"


# Rows grow to hold their wrapped cells, as Sheets fits a row's height; a cell sits at the
# bottom of its row (Sheets' default alignment); the thick line goes under the frozen rows; an
# open note stays level with the top of its cell's row.
_REFLOW = """
function reflow() {
  const rows = document.querySelectorAll("table tr");
  const lines = document.querySelectorAll(".line");
  document.querySelectorAll(".freeze").forEach((bar) => bar.remove());
  let top = %(head)d;
  lines.forEach((line, r) => {
    let height = %(row)d;
    line.querySelectorAll(".w").forEach((cell) => {
      height = Math.max(height, cell.offsetHeight);
    });
    line.querySelectorAll(".v").forEach((cell) => {
      const own = cell.classList.contains("w") ? cell.offsetHeight : %(row)d;
      cell.style.top = (top + height - own) + "px";
    });
    document.querySelectorAll(".note").forEach((note) => {
      if (Number(note.dataset.line) === r) note.style.top = top + "px";
    });
    rows[r + 1].querySelectorAll("th, td").forEach((box) => {
      box.style.height = (height - 1) + "px";
    });
    top += height;
    if (r + 1 === %(frozen)d) {
      const bar = document.createElement("div");
      bar.className = "freeze";
      bar.style.top = (top - 2) + "px";
      document.querySelector(".sheet").appendChild(bar);
    }
  });
}
reflow();
document.fonts.ready.then(reflow);
"""


def _shown_columns(sheet: dict[str, Any], at_least: int = 0) -> tuple[list[int], list[int]]:
    """The widths of the columns a laptop's window shows (the columns given a width, then
    default ones, at least ``TAB_COLUMNS`` default widths across, and at least ``at_least``
    columns) and each one's left edge (one more edge: the last column's right)."""
    metadata = sheet.get("columnMetadata") or []
    sized = [int(entry.get("pixelSize", COLUMN_PX)) for entry in metadata]
    window = max(TAB_COLUMNS * COLUMN_PX, sum(sized) + COLUMN_PX)
    widths: list[int] = []
    while sum(widths) < window or len(widths) < at_least:
        widths.append(sized[len(widths)] if len(widths) < len(sized) else COLUMN_PX)
    lefts = [ROW_HEADER_PX]
    for width in widths:
        lefts.append(lefts[-1] + width)
    return widths, lefts


def esa_spreadsheet(esa_code: str, emulator_dir: Path, esas_csv: Path) -> dict[str, Any] | None:
    """The ESA's spreadsheet as the emulator holds it now; None when the ESA or its sheet is
    not there."""
    from schoolnet.core.registry import read_esas
    from schoolnet.devtools.emulator.state import EmulatorError, load_spreadsheet

    esa = next((e for e in read_esas(esas_csv) if e.esa_code == esa_code), None)
    if esa is None:
        return None
    try:
        return load_spreadsheet(emulator_dir, esa.spreadsheet_id)
    except EmulatorError:
        return None


def feedback_tab_picture(
    browser: str, esa_code: str, emulator_dir: Path, esas_csv: Path, folder: Path, out: Path
) -> bool:
    """Picture the ESA's ``ผลตรวจสอบ`` tab as its sheet holds it now; False when the sheet
    has no such tab (a sheet the pipeline could not read)."""
    from schoolnet.contract import load_contract

    doc = esa_spreadsheet(esa_code, emulator_dir, esas_csv)
    tab = load_contract().feedback_tab
    if doc is None or not any(sheet["title"] == tab for sheet in doc["sheets"]):
        return False
    page = write_tab_preview(doc, tab, folder)
    widths, _ = _shown_columns(next(sheet for sheet in doc["sheets"] if sheet["title"] == tab))
    width = ROW_HEADER_PX + sum(widths)
    screenshot(browser, page, out, width, 900)
    trim_bottom(out, margin=0)
    return True


def data_tab_picture(
    browser: str, esa_code: str, emulator_dir: Path, esas_csv: Path, folder: Path, out: Path
) -> bool:
    """Picture the ESA's data tab with the marks on its cells (``write_marks_preview``), as
    its sheet holds it now; False when the sheet has no data tab. A tab with no marks is
    pictured all the same, and said so."""
    from schoolnet.contract import load_contract

    doc = esa_spreadsheet(esa_code, emulator_dir, esas_csv)
    tab = load_contract().data_tab
    if doc is None or not any(sheet["title"] == tab for sheet in doc["sheets"]):
        return False
    page, view = write_marks_preview(doc, tab, folder)
    if not view.marks:
        print(f"{out.name}: the {tab} tab of ESA {esa_code} has no notes or colours to show")
    elif view.opened is None:
        print(f"{out.name}: the {tab} tab of ESA {esa_code} has colours but no note to open")
    sheet = next(sheet for sheet in doc["sheets"] if sheet["title"] == tab)
    _widths, lefts = _marks_columns(sheet, view)
    width = lefts[-1]
    if view.opened is not None:  # the open note, its padding, border and shadow
        width = max(width, lefts[view.opened[1] + 1] + 4 + NOTE_PX + 2 * 9 + 8)
    screenshot(browser, page, out, width, 900)
    trim_bottom(out, margin=0)
    return True


def trim_bottom(picture: Path, margin: int = 24) -> None:
    """Cut the blank white rows under a screenshot's content (keeping ``margin`` pixels)."""
    from PIL import Image, ImageChops

    with Image.open(picture) as image:
        rgb = image.convert("RGB")
    box = ImageChops.difference(rgb, Image.new("RGB", rgb.size, "white")).getbbox()
    if box is not None and box[3] + margin < rgb.height:
        with replacing(picture) as temporary:
            rgb.crop((0, 0, rgb.width, box[3] + margin)).save(temporary, format="PNG")


def compact(picture: Path) -> None:
    """Store a screenshot with a 256-colour palette: text and flat colours lose nothing a
    reader sees, and the PNG is about a third of its size (README's pictures are in git)."""
    from PIL import Image

    with Image.open(picture) as image:
        rgb = image.convert("RGB")
    palette = rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette.save(picture, optimize=True)


def find_browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError(
        "no Chromium found: install it (Debian: `apt-get install chromium`) and run this again"
    )


def screenshot(browser: str, page: Path, out: Path, width: int, height: int) -> None:
    """A headless Chromium screenshot of ``page`` at ``width`` CSS pixels (2x for sharpness)."""
    with tempfile.TemporaryDirectory(prefix="schoolnet-chromium-") as profile:
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--force-device-scale-factor=2",
            f"--window-size={width},{height}",
            f"--screenshot={out}",
            page.resolve().as_uri(),
        ]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if completed.returncode != 0 or not out.exists():
        raise RuntimeError(f"Chromium could not take the screenshot: {completed.stderr[-500:]}")


def pdf_first_page(pdf: Path, out: Path, scale: float = 1.5) -> None:
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        with replacing(out) as temporary:
            document[0].render(scale=scale).to_pil().save(temporary, format="PNG")
    finally:
        document.close()


def make_pictures(
    folder: Path,
    docs: Path,
    mail_dir: Path | None = None,
    emulator_dir: Path | None = None,
    esas_csv: Path | None = None,
) -> list[Path]:
    """Write the email and PDF pictures of the report in ``folder`` into ``docs``, the province
    map, the email's speed section, and (from ``mail_dir``) an ESA's feedback email, with that
    ESA's ``ผลตรวจสอบ`` tab and its data tab with the marks on its cells (from the emulator's
    sheets in ``emulator_dir``)."""
    manifest: dict[str, Any] = json.loads((folder / _manifest_name()).read_text("utf-8"))
    preview = write_preview(folder)
    browser = find_browser()
    docs.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (width, height) in VIEWS.items():
        screenshot(browser, preview, docs / name, width, height)
        written.append(docs / name)
    pdf = next(a["file"] for a in manifest["attachments"] if a["subtype"] == "pdf")
    pdf_first_page(folder / pdf, docs / PDF_PICTURE)
    written.append(docs / PDF_PICTURE)
    if (folder / "map.png").exists():
        shutil.copyfile(folder / "map.png", docs / MAP_PICTURE)
        written.append(docs / MAP_PICTURE)
    speed = write_section_preview(folder, SPEED_HEADING, "preview-speed.html")
    screenshot(browser, speed, docs / SPEED_PICTURE, 360, 2400)
    trim_bottom(docs / SPEED_PICTURE)
    written.append(docs / SPEED_PICTURE)
    chosen = chosen_feedback(mail_dir) if mail_dir else None
    feedback = write_feedback_preview(mail_dir, folder) if mail_dir else None
    if chosen is not None and feedback is not None:
        screenshot(browser, feedback, docs / FEEDBACK_PICTURE, 360, 1600)
        trim_bottom(docs / FEEDBACK_PICTURE)
        written.append(docs / FEEDBACK_PICTURE)
        if emulator_dir is not None and esas_csv is not None:
            tab = docs / TAB_PICTURE
            if feedback_tab_picture(browser, chosen[0], emulator_dir, esas_csv, folder, tab):
                written.append(tab)
            data = docs / DATA_PICTURE
            if data_tab_picture(browser, chosen[0], emulator_dir, esas_csv, folder, data):
                written.append(data)
    for picture in written:
        if picture.name != MAP_PICTURE:  # the map as the email carries it, byte for byte
            compact(picture)
    return written


def _pictures(args: argparse.Namespace) -> int:
    folder = args.report or latest_report_folder(project_root() / "out" / "report")
    out = project_root() / "out"
    emulator, esas = out / "emulator", out / "demo-data" / "esas.csv"
    for path in make_pictures(folder, args.out, args.mail, emulator, esas):
        print(f"wrote {path}")
    return 0


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "pictures",
        help="pictures of the rendered report for the docs (email at phone and desktop "
        "width and its speed section in headless Chromium, the province map, the PDF's first "
        "page, an ESA's feedback email, its ผลตรวจสอบ tab and its data tab's marks)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        help="a rendered report folder (default: the latest under out/report)",
    )
    parser.add_argument(
        "--out", type=Path, default=project_root() / "docs", help="where the PNGs go (docs/)"
    )
    parser.add_argument(
        "--mail",
        type=Path,
        default=project_root() / "out" / "mail",
        help="the mail sink's folder, for a picture of an ESA's feedback email (default: out/mail)",
    )
    parser.set_defaults(handler=_pictures)
