"""Pictures of the report for the docs: the email as a browser shows it (phone and desktop
widths), its speed section at phone width, the province map, the PDF's first page, and an ESA's
feedback email, regenerated from a rendered report folder (and the mail sink) by one command.

The email's HTML refers to its charts as ``cid:`` parts, which only a mail client resolves; a
``preview.html`` beside it points at the chart files instead, for browsers (and people).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from schoolnet.core.files import replacing, write_atomically
from schoolnet.core.paths import project_root
from schoolnet.report.files import MANIFEST
from schoolnet.report.fonts import font_face_css

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
VIEWS = {"email-phone.png": (360, 2400), "email-desktop.png": (1100, 1500)}
PDF_PICTURE = "report-pdf-page1.png"
MAP_PICTURE = "province-map.png"  # the map image itself, as the email attaches it
SPEED_PICTURE = "email-speed-phone.png"  # the email's speed section at phone width
SPEED_HEADING = "ความเร็วพอสำหรับการเรียนการสอน"
FEEDBACK_PICTURE = "esa-feedback-phone.png"  # an ESA's feedback email, its standing on top


def latest_report_folder(report_dir: Path) -> Path:
    folders = sorted(p.parent for p in report_dir.glob(f"*/{MANIFEST}"))
    if not folders:
        raise FileNotFoundError(
            f"no rendered report under {report_dir}: run `make demo` first, then this again"
        )
    return folders[-1]


def write_preview(folder: Path) -> Path:
    """``preview.html``: the email's HTML with each ``cid:`` image pointing at its file, and the
    shipped Thai font declared."""
    manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text("utf-8"))
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


def write_feedback_preview(mail_dir: Path, folder: Path) -> Path | None:
    """The HTML part of the ESA feedback email with the most findings that fit a phone screen
    (the demo's mail sink keeps every message), with the shipped font declared; None when no
    feedback was sent."""
    import email
    from email.policy import default as default_policy

    best: tuple[int, str] | None = None
    for path in sorted(mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        if "ผลตรวจสอบข้อมูล" not in str(message["Subject"] or ""):
            continue
        part = message.get_body(preferencelist=("html",))
        if part is None:
            continue
        html = part.get_content()
        rows = html.count("<tr")
        if 'id="standing"' in html and rows < 12 and (best is None or rows > best[0]):
            best = (rows, html)
    if best is None:
        return None
    preview = folder / "feedback-preview.html"
    write_atomically(
        preview, best[1].replace("</head>", f"<style>{font_face_css()}</style></head>", 1)
    )
    return preview


def trim_bottom(picture: Path, margin: int = 24) -> None:
    """Cut the blank white rows under a screenshot's content (keeping ``margin`` pixels)."""
    from PIL import Image, ImageChops

    with Image.open(picture) as image:
        rgb = image.convert("RGB")
    box = ImageChops.difference(rgb, Image.new("RGB", rgb.size, "white")).getbbox()
    if box is not None and box[3] + margin < rgb.height:
        with replacing(picture) as temporary:
            rgb.crop((0, 0, rgb.width, box[3] + margin)).save(temporary, format="PNG")


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


def make_pictures(folder: Path, docs: Path, mail_dir: Path | None = None) -> list[Path]:
    """Write the email and PDF pictures of the report in ``folder`` into ``docs``, the province
    map, the email's speed section, and (from ``mail_dir``) an ESA's feedback email."""
    manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text("utf-8"))
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
    feedback = write_feedback_preview(mail_dir, folder) if mail_dir else None
    if feedback is not None:
        screenshot(browser, feedback, docs / FEEDBACK_PICTURE, 360, 1600)
        trim_bottom(docs / FEEDBACK_PICTURE)
        written.append(docs / FEEDBACK_PICTURE)
    return written


def _pictures(args: argparse.Namespace) -> int:
    folder = args.report or latest_report_folder(project_root() / "out" / "report")
    for path in make_pictures(folder, args.out, args.mail):
        print(f"wrote {path}")
    return 0


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "pictures",
        help="pictures of the rendered report for the docs (email at phone and desktop "
        "width and its speed section in headless Chromium, the province map, the PDF's first "
        "page, an ESA's feedback email)",
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
