"""The printed report: A4 PDF in the shipped Sarabun whose Thai text layer reads as written."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.request import urlopen

import pypdf
import pypdfium2
import pytest

from schoolnet.report.charts import progress_chart
from schoolnet.report.pdf import (
    PRINT_PAGE_CSS,
    LocalOnlyFetcher,
    RemoteResourceRefused,
    decompose_sara_am,
    html_to_pdf,
    pdf_font_names,
    pdf_text,
    recompose_sara_am,
)
from schoolnet.report.pdf_process import PdfProcess

WORDS = ["ต่ำ", "น้ำ", "จำนวน", "สำนักงาน", "กำแพงเพชร", "ทำ"]
LINE = " ".join(WORDS)
# Unspaced Thai that must wrap at word boundaries in a narrow column.
PARAGRAPH = (
    "การจัดทำรายงานจำนวนโรงเรียนที่ได้รับการสนับสนุนค่าใช้จ่ายสำนักงานเขตพื้นที่การศึกษา"
    "กำแพงเพชรน้ำท่วมต่ำกว่าเกณฑ์ทำความเข้าใจ"
)


def document(body: str, style: str = "") -> str:
    return (
        '<!doctype html><html lang="th"><head><meta charset="utf-8"><title>รายงาน</title>'
        f"<style>body {{ font-size: 14pt; }} {style}</style></head><body>{body}</body></html>"
    )


def words_of(text: str) -> list[str]:
    return text.split()


def pdfium_text(pdf: bytes) -> list[str]:
    """The text layer as PDFium (Chrome's PDF viewer) reads it, ำ recomposed."""
    doc = pypdfium2.PdfDocument(pdf)
    try:
        return [recompose_sara_am(page.get_textpage().get_text_range()) for page in doc]
    finally:
        doc.close()


def test_every_sara_am_word_comes_back_exactly_in_regular_and_bold() -> None:
    pdf = html_to_pdf(document(f"<p>{LINE}</p><p><b>{LINE}</b></p>"))
    assert pdf.startswith(b"%PDF-")
    (page,) = pdf_text(pdf)
    assert page.splitlines() == [LINE, LINE]
    # PDFium too, and with tone marks over other vowels (pypdf adds a space inside ปั้น).
    (page,) = pdfium_text(html_to_pdf(document(f"<p>{LINE} ปั้น ฝั่ง ญู ฐู ฤๅษี</p>")))
    assert words_of(page) == [*WORDS, "ปั้น", "ฝั่ง", "ญู", "ฐู", "ฤๅษี"]


def test_viewers_read_sara_am_as_typed_and_pypdf_reads_it_decomposed() -> None:
    # PDFium (Chrome's viewer) reads each SARA AM's ActualText: the words as typed, unaltered.
    pdf = html_to_pdf(document(f"<p>{LINE}</p>"))
    raw = pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range()
    assert words_of(raw) == WORDS
    # pypdf ignores ActualText and reads the glyphs: NIKHAHIT (+ tone) + SARA AA in place of ำ.
    assert words_of(pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()) == [
        decompose_sara_am(word) for word in WORDS
    ]
    assert decompose_sara_am("ต่ำ") == "\u0e15\u0e4d\u0e48\u0e32"
    for word in [*WORDS, "ความ", "ป่า", "ทำนา"]:
        assert recompose_sara_am(decompose_sara_am(word)) == word


def pdftotext(pdf: bytes) -> str:
    """The text layer as poppler's ``pdftotext`` reads it (search indexes, screen readers)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("needs pdftotext (Debian: apt-get install poppler-utils)")
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")


# ESA names and words of the report with ำ, and Thai clusters around it that must stay as typed.
REPORT_WORDS = [
    "สำนักงาน",
    "สพป.ลำปาง",
    "จำนวน",
    "กำแพงเพชร",
    "น้ำ",
    "ต่ำ",
    "ทำ",
    "สำรวจ",
    "ดำเนินการ",
]
OTHER_CLUSTERS = ["ที่", "ดื่ม", "กุ้ง", "ปู่", "ข้อมูล", "โรงเรียน", "รับ", "ยังไม่"]


@pytest.mark.parametrize("tag", ["span", "b"])
def test_pdftotext_reads_every_word_as_typed_and_once(tag: str) -> None:
    words = REPORT_WORDS + OTHER_CLUSTERS
    line = " ".join(words)
    table = "".join(f"<tr><td>{word}</td><td>{index}</td></tr>" for index, word in enumerate(words))
    pdf = html_to_pdf(
        document(
            f'<p class="report-date">3 มกราคม 2561</p><p><{tag}>{line}</{tag}></p>'
            f"<table>{table}</table>",
            PRINT_PAGE_CSS,
        )
    )
    text = pdftotext(pdf)
    assert line in " ".join(words_of(text))  # the paragraph, however it wraps
    for word in words:
        assert words_of(text).count(word) == 2  # in the paragraph and in its table cell
    # Not doubled: every ำ once, as U+0E33, and no NIKHAHIT left over from its glyphs.
    assert text.count("\u0e33") == 2 * line.count("\u0e33")
    assert "\u0e4d" not in text
    assert "\u0e4d" not in pdfium_text(pdf)[0]


def test_characterization_weasyprint_alone_loses_sara_am() -> None:
    """Without the repair, WeasyPrint 70 + Sarabun map each glyph from the cluster it first
    appears in, so ำ spreads to later words (see docs/thai-pdf.md). If this fails, WeasyPrint
    may have fixed its text layer and the repair could be dropped."""
    pdf = html_to_pdf(document(f"<p>{LINE}</p><p><b>{LINE}</b></p>"), repair_text_layer=False)
    regular, bold = pdf_text(pdf)[0].splitlines()
    assert regular == bold == "ต่ำ น่ำ จ่ำนวน ส่ำนักง่ำน ก่ำแพงเพชร ท่ำ"


@pytest.mark.parametrize(
    ("written", "text_layer"),
    [
        ("สำนักงาน", "สำนักงำน"),  # า first seen inside ำ: every later า reads ำ
        ("จำนวน ต่ำ", "จำนวน ตำ"),  # the tone mark of ต่ำ is lost
        ("ความ สำนักงาน", "ความ สานักงาน"),  # า seen alone first: ำ reads า
        ("ทำ น้ำ", "ทำ นำ"),
    ],
)
def test_characterization_first_glyph_use_decides_its_text(written: str, text_layer: str) -> None:
    pdf = html_to_pdf(document(f"<p>{written}</p>"), repair_text_layer=False)
    assert pdf_text(pdf) == [text_layer]
    assert pdf_text(html_to_pdf(document(f"<p>{written}</p>"))) == [written]


def test_the_repair_changes_neither_the_page_nor_its_line_breaks() -> None:
    body = f'<p style="width: 40mm">{PARAGRAPH}</p><p>{LINE}</p>'
    repaired = html_to_pdf(document(body))
    plain = html_to_pdf(document(body), repair_text_layer=False)
    pages = [
        pypdfium2.PdfDocument(pdf)[0].render(scale=1).to_pil().tobytes()
        for pdf in (repaired, plain)
    ]
    assert pages[0] == pages[1]
    lines = pdf_text(repaired)[0].splitlines()
    assert "".join(lines[:-1]) == PARAGRAPH and len(lines) > 4
    assert lines[0] == "การจัดทำรายงาน"
    # Why the text is not rewritten in the HTML instead: the line breaker's dictionary does not
    # know the decomposed words, so unspaced Thai wraps elsewhere.
    rewritten = html_to_pdf(document(decompose_sara_am(body)))
    assert pdf_text(rewritten)[0].splitlines()[: len(lines) - 1] != lines[:-1]


def test_page_numbers_and_report_date_from_print_page_css() -> None:
    body = (
        '<p class="report-date">3 มกราคม 2561</p><p>หน้าแรก</p>'
        '<p style="break-before: page">หน้าที่สอง</p>'
    )
    pdf = html_to_pdf(document(body, PRINT_PAGE_CSS))
    first, second = pdf_text(pdf)
    assert "หน้า 1 จาก 2" in first
    assert "หน้า 2 จาก 2" in second
    assert "3 มกราคม 2561" in second  # the margin box, not the body
    page = pypdfium2.PdfDocument(pdf)[0]
    assert [round(v) for v in page.get_size()] == [595, 842]  # A4 in points


def test_fonts_are_the_shipped_sarabun_only() -> None:
    pdf = html_to_pdf(
        document(
            f"<p>{LINE} Latin 123</p><p><b>{LINE}</b> <i>ทำ</i></p>", "p { font-family: serif; }"
        ).replace("font-family: serif;", "")
    )
    names = pdf_font_names(pdf)
    assert names >= {"Sarabun", "Sarabun-Bold"}
    assert all(name.startswith("Sarabun") for name in names), names
    unstyled = html_to_pdf("<p>ทำ Latin</p>")
    assert pdf_font_names(unstyled) == {"Sarabun"}


def test_markup_in_a_text_node_stays_literal_text() -> None:
    pdf = html_to_pdf(document("<p>น้ำ &lt;script&gt;alert(1)&lt;/script&gt; &amp; ต่ำ</p>"))
    assert pdf_text(pdf)[0].strip() == "น้ำ <script>alert(1)</script> & ต่ำ"


class _Recorder(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"p { color: red; }")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[str]]]:
    requests: list[str] = []
    handler = type("Handler", (_Recorder,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_remote_resources_are_never_fetched(
    recording_server: tuple[str, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    base, requests = recording_server
    urls = [f"{base}/style.css", f"{base}/chart.png", f"{base}/imported.css", f"{base}/font.ttf"]
    html = (
        "<!doctype html><html><head>"
        f'<link rel="stylesheet" href="{urls[0]}">'
        f'<style>@import url("{urls[2]}"); @font-face {{ font-family: X; src: url("{urls[3]}"); }}'
        "</style></head>"
        f'<body><p>ทำ</p><img src="{urls[1]}" alt="กราฟ"></body></html>'
    )
    with caplog.at_level(logging.WARNING, logger="schoolnet.report.pdf"):
        pdf = html_to_pdf(html)
    assert pdf.startswith(b"%PDF-")
    assert requests == []
    refused = {
        r.args[0]
        for r in caplog.records
        if isinstance(r.args, tuple) and r.getMessage().startswith("PDF: refused")
    }
    assert refused == set(urls)
    # The server is up and answers: nothing above was refused for want of a listener.
    with urlopen(urls[0]) as response:
        assert response.status == 200
    assert requests == ["/style.css"]


def test_fetcher_allows_only_local_files_data_and_known_cid_images(tmp_path: Path) -> None:
    fetcher = LocalOnlyFetcher({"chart": b"PNGDATA"})
    for url in ["https://example.org/x.png", "ftp://example.org/x", "cid:other", "gopher://x"]:
        with pytest.raises(RemoteResourceRefused):
            fetcher.fetch(url)
    assert fetcher.fetch("cid:chart").read() == b"PNGDATA"
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"
    local = tmp_path / "a.css"
    local.write_text("p {}")
    assert fetcher.fetch(local.as_uri()).read() == b"p {}"
    assert fetcher.refused == [
        "https://example.org/x.png",
        "ftp://example.org/x",
        "cid:other",
        "gopher://x",
    ]


def test_cid_images_print_in_the_pdf() -> None:
    chart = progress_chart([(date(2018, 1, 3), 10)], 20, date(2018, 1, 3))
    html = document(
        f'<p>กราฟ</p><img src="cid:{chart.cid_name}" alt="{chart.alt}" style="width: 160mm">'
    )
    with_image = html_to_pdf(html, cid_images={chart.cid_name: chart.png})
    without = html_to_pdf(html)
    images = [
        obj
        for page in pypdfium2.PdfDocument(with_image)
        for obj in page.get_objects()
        if obj.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE
    ]
    assert len(images) == 1
    assert len(with_image) > len(without) + 10_000


def test_the_pdf_process_gives_the_same_bytes_as_rendering_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The embedded font subsets carry the second they were made (fontTools' head.modified),
    # so both sides are given one clock (SOURCE_DATE_EPOCH, which the child inherits): two
    # renders a second apart would differ by that stamp alone.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1514764800")
    html = document(f"<p>{LINE}</p><p><b>{PARAGRAPH}</b></p>", PRINT_PAGE_CSS)
    with PdfProcess() as process:
        future = process.render(html)
        assert future.result() == html_to_pdf(html)


def test_a_pdf_process_left_unused_ends_cleanly() -> None:
    process = PdfProcess()
    process.close()
    assert process._process.returncode is not None
