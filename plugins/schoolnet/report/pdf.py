"""The printable report: HTML to an A4 PDF in the shipped Sarabun, with a Thai text layer that
copies and searches as the glyphs it shows (see docs/thai-pdf.md).

WeasyPrint maps each glyph to one Unicode string in the PDF's ToUnicode map, taken from the
glyph's cluster the first time the glyph appears. HarfBuzz draws SARA AM (U+0E33 ำ) as NIKHAHIT
(U+0E4D) + SARA AA (U+0E32) and moves the nikhahit before a preceding tone mark, merging the
cluster, so the text layer loses or misplaces ำ (ต่ำ → ตา, สำนักงาน → สำนักงำน).

The repair: after layout, every Thai glyph of the shipped font is mapped to the characters its
name stands for (``uni0E4D0E48`` → NIKHAHIT + MAI EK, ``uni0E32`` → SARA AA). The layout, line
breaks included, is WeasyPrint's own; the text layer reads ``ตํ่า`` for ต่ำ, which
:func:`recompose_sara_am` maps back exactly. Rewriting the HTML's text into that decomposed order
instead gives the same text layer but changes where unspaced Thai lines break (the line breaker's
dictionary does not know the decomposed words), so it is not done.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pydyf
import pypdf
from fontTools.agl import toUnicode
from fontTools.ttLib import TTFont
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from schoolnet.report.fonts import FACE_FILES, FAMILY, font_face_css
from schoolnet.report.texts import report_text

LOG = logging.getLogger(__name__)

_SARA_AM = re.compile("([\u0e48-\u0e4b]?)\u0e33")
_DECOMPOSED_SARA_AM = re.compile("\u0e4d([\u0e48-\u0e4b]?)\u0e32")
_BFCHAR = re.compile(rb"<([0-9a-fA-F]{4})> <([0-9a-fA-F]*)>")

PRINT_PAGE_CSS = f"""\
@page {{
  size: A4;
  margin: 20mm 15mm 20mm 15mm;
  @top-right {{
    content: string(report-date);
    font-family: "Sarabun";
    font-size: 9pt;
    color: #555;
  }}
  @bottom-center {{
    content: {report_text("pdf_page_footer")};
    font-family: "Sarabun";
    font-size: 9pt;
    color: #555;
  }}
}}
.report-date {{ string-set: report-date content(); }}
"""
"""Page box for the printed report: A4, margins, the Thai date top right (the text of the latest
element of class ``report-date``) and ``หน้า X จาก Y`` at the bottom. The template includes it
in its ``<style>``."""

# Defaults under the document's own CSS (user origin): A4 and Sarabun unless a template says
# otherwise, so nothing falls back to a system font by omission.
_BASE_CSS = f'@page {{ size: A4; }}\nhtml {{ font-family: "{FAMILY}"; }}\n'


class RemoteResourceRefused(ValueError):
    """A document asked for a resource that is not a local file or inline data."""


class LocalOnlyFetcher(URLFetcher):  # type: ignore[misc]  # weasyprint ships no type information
    """WeasyPrint's URL fetcher limited to ``file:`` and ``data:`` URLs.

    The report is rendered on a worker from the project's own templates and data: anything else
    (http, https, ftp, ...) is refused before a connection is attempted, logged and recorded in
    ``refused``. ``cid:`` URLs (the email's inline images) are served from ``cid_images`` when
    given, and refused otherwise.
    """

    ALLOWED = frozenset({"file", "data"})

    def __init__(self, cid_images: Mapping[str, bytes] | None = None) -> None:
        super().__init__(allowed_protocols=set(self.ALLOWED), allow_redirects=False)
        self.cid_images: dict[str, bytes] = dict(cid_images or {})
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
        if scheme == "cid":
            content_id = url.split(":", 1)[1].strip("<>")
            if content_id in self.cid_images:
                return URLFetcherResponse(url, self.cid_images[content_id])
        elif scheme in self.ALLOWED:
            return super().fetch(url, headers)
        self.refused.append(url)
        LOG.warning("PDF: refused to fetch %s (only local files and inline data)", url)
        raise RemoteResourceRefused(f"not fetched: {url}")


def decompose_sara_am(text: str) -> str:
    """ต่ำ → ตํ่า: SARA AM as NIKHAHIT, tone mark, SARA AA, the order the PDF's text layer has
    (type this form to find a word with ำ in a PDF viewer)."""
    return _SARA_AM.sub("\u0e4d\\1\u0e32", text)


def recompose_sara_am(text: str) -> str:
    """ตํ่า → ต่ำ: the exact inverse of :func:`decompose_sara_am`, for text read from the PDF."""
    return _DECOMPOSED_SARA_AM.sub("\\1\u0e33", text)


def _is_thai(text: str) -> bool:
    return bool(text) and all("\u0e00" <= char <= "\u0e7f" for char in text)


def _glyph_text(name: str) -> str:
    """The characters a glyph name stands for (``uni0E4D0E48``, ``uni0E48.small``,
    ``yoYingthai.less``), or '' when the name says nothing Thai."""
    text = toUnicode(name) or toUnicode(name.split(".", 1)[0].lower())
    return text if _is_thai(text) else ""


@functools.cache
def _shipped_faces() -> tuple[tuple[dict[int, int], dict[int, str]], ...]:
    """For each shipped Sarabun face: its cmap by glyph id, and the Thai text of each glyph id."""
    faces = []
    for path in FACE_FILES:
        if not path.is_file():
            continue
        font = TTFont(path, lazy=True)
        order = font.getGlyphOrder()
        by_gid = {font.getGlyphID(name): code for code, name in font.getBestCmap().items()}
        texts = {gid: text for gid, name in enumerate(order) if (text := _glyph_text(name))}
        faces.append((by_gid, texts))
        font.close()
    return tuple(faces)


def _glyph_texts_for(font_program: bytes) -> dict[int, str] | None:
    """The Thai text of each glyph id of an embedded font, if it is a subset of a shipped face.

    WeasyPrint subsets with the glyph ids kept, so the subset's cmap must agree with the shipped
    face's wherever it has an entry; any other font is left as WeasyPrint wrote it.
    """
    subset = TTFont(io.BytesIO(font_program), lazy=True)
    subset_cmap = {subset.getGlyphID(name): code for code, name in subset.getBestCmap().items()}
    subset.close()
    if not subset_cmap:
        return None
    for by_gid, texts in _shipped_faces():
        if all(by_gid.get(gid) == code for gid, code in subset_cmap.items()):
            return texts
    return None


def _objects(pdf: pydyf.PDF, reference: Any) -> Any:
    """The object a pydyf reference (``b"12 0 R"``) names."""
    if isinstance(reference, bytes | str):
        number = int(reference.split()[0])
        return pdf.objects[number]
    return reference


def _type0_fonts(pdf: pydyf.PDF) -> Iterator[tuple[pydyf.Stream, bytes]]:
    """(ToUnicode stream, embedded TrueType program) of every composite font in the PDF."""
    for obj in pdf.objects:
        if not isinstance(obj, pydyf.Dictionary) or obj.get("Subtype") != "/Type0":
            continue
        if "ToUnicode" not in obj or "DescendantFonts" not in obj:
            continue
        descendant = _objects(pdf, obj["DescendantFonts"][0])
        descriptor = _objects(pdf, descendant.get("FontDescriptor"))
        program = descriptor.get("FontFile2") if descriptor is not None else None
        if program is None:
            continue
        program_stream = _objects(pdf, program)
        yield _objects(pdf, obj["ToUnicode"]), b"".join(program_stream.stream)


def _repair_thai_text_layer(_document: Any, pdf: pydyf.PDF) -> None:
    """WeasyPrint finisher: map each Thai glyph of a shipped face to its own characters."""
    for to_unicode, program in _type0_fonts(pdf):
        texts = _glyph_texts_for(program)
        if not texts:
            continue

        def remap(match: re.Match[bytes], texts: dict[int, str] = texts) -> bytes:
            text = texts.get(int(match[1], 16))
            if text is None:
                return match[0]
            return b"<" + match[1] + b"> <" + text.encode("utf-16-be").hex().encode() + b">"

        to_unicode.stream = [_BFCHAR.sub(remap, line) for line in to_unicode.stream]


def html_to_pdf(
    html: str,
    *,
    base_url: str | None = None,
    cid_images: Mapping[str, bytes] | None = None,
    repair_text_layer: bool = True,
) -> bytes:
    """An A4 PDF of ``html`` in the shipped Sarabun, with a Thai text layer that reads right.

    ``base_url`` resolves relative links (a ``file:`` directory). Only ``file:`` and ``data:``
    resources are fetched; ``cid:`` images come from ``cid_images`` (content id → bytes) so the
    email's markup prints as is. ``repair_text_layer=False`` keeps WeasyPrint's own text layer:
    only to show the problem this module works around.
    """
    fetcher = LocalOnlyFetcher(cid_images)
    font_config = FontConfiguration()
    stylesheet = CSS(
        string=font_face_css() + _BASE_CSS, font_config=font_config, url_fetcher=fetcher
    )
    document = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
    pdf = document.write_pdf(
        stylesheets=[stylesheet],
        font_config=font_config,
        finisher=_repair_thai_text_layer if repair_text_layer else None,
    )
    if not isinstance(pdf, bytes):  # write_pdf returns bytes when given no target
        raise TypeError("WeasyPrint returned no PDF bytes")
    return pdf


def pdf_text(pdf_bytes: bytes) -> list[str]:
    """The text layer of each page (pypdf), with ำ recomposed: the words as written."""
    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes))
    return [recompose_sara_am(page.extract_text() or "") for page in reader.pages]


def pdf_font_names(pdf_bytes: bytes) -> set[str]:
    """The BaseFont of every font the pages use, subset tag removed (``Sarabun-Bold``)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes))
    names: set[str] = set()
    for page in reader.pages:
        resources = page.get("/Resources")
        fonts = resources.get_object().get("/Font") if resources is not None else None
        if fonts is None:
            continue
        for reference in fonts.get_object().values():
            base_font = str(reference.get_object().get("/BaseFont", ""))
            names.add(base_font.lstrip("/").split("+", 1)[-1])
    return names
