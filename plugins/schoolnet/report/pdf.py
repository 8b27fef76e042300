"""The printable report: HTML to an A4 PDF in the shipped Sarabun, with a Thai text layer that
copies and searches as the glyphs it shows (see docs/thai-pdf.md).

WeasyPrint maps each glyph to one Unicode string in the PDF's ToUnicode map, taken from the
glyph's cluster the first time the glyph appears. HarfBuzz draws SARA AM (U+0E33 ำ) as NIKHAHIT
(U+0E4D) + SARA AA (U+0E32) and moves the nikhahit before a preceding tone mark, merging the
cluster, so the text layer loses or misplaces ำ (ต่ำ → ตา, สำนักงาน → สำนักงำน).

The repair, after layout and without touching what is drawn:

- every Thai glyph of the shipped font is mapped to the characters its name stands for
  (``uni0E4D0E48`` → NIKHAHIT + MAI EK, ``uni0E32`` → SARA AA), so each glyph reads as drawn;
- each SARA AM's glyphs (the NIKHAHIT, with any tone mark before it, and the SARA AA) are put in
  a marked-content span whose ``ActualText`` is the text as typed (``่ำ``), as Chromium's PDFs
  do: pdftotext and PDFium (Chrome's viewer) read ``ต่ำ``, and a search for ``สำนักงาน`` finds it.
  Readers that ignore ActualText (pypdf) read ``ตํ่า``, which :func:`recompose_sara_am` maps back.

Rewriting the HTML's text instead changes where unspaced Thai lines break (the line breaker's
dictionary does not know the decomposed words), so it is not done.
"""

from __future__ import annotations

import functools
import io
import itertools
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
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

NIKHAHIT = "\u0e4d"
SARA_AA = "\u0e32"
_SARA_AM = re.compile("([\u0e48-\u0e4b]?)\u0e33")
_DECOMPOSED_SARA_AM = re.compile("\u0e4d([\u0e48-\u0e4b]?)\u0e32")
_BFCHAR = re.compile(rb"<([0-9a-fA-F]{4})> <([0-9a-fA-F]*)>")
# Content stream operators as WeasyPrint writes them, one to a line.
_TF = re.compile(rb"/(\S+) \S+ Tf")
_TJ = re.compile(rb"\[(.*)\] TJ", re.DOTALL)
_TJ_TOKEN = re.compile(rb"<([0-9a-fA-F]*)>|[^\s<>]+")

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


@dataclass(frozen=True)
class _FaceGlyphs:
    """What the text layer needs to know of one shipped face's glyphs, by glyph id."""

    texts: Mapping[int, str]  # the Thai characters each glyph stands for
    nikhahits: tuple[bytes, ...]  # glyph ids drawing a NIKHAHIT, as content streams write them


@functools.cache
def _shipped_faces() -> tuple[tuple[dict[int, int], _FaceGlyphs], ...]:
    """For each shipped Sarabun face: its cmap by glyph id, and its Thai glyphs."""
    faces = []
    for path in FACE_FILES:
        if not path.is_file():
            continue
        font = TTFont(path, lazy=True)
        order = font.getGlyphOrder()
        by_gid = {font.getGlyphID(name): code for code, name in font.getBestCmap().items()}
        texts = {gid: text for gid, name in enumerate(order) if (text := _glyph_text(name))}
        nikhahits = tuple(b"%04x" % gid for gid, text in texts.items() if text[0] == NIKHAHIT)
        faces.append((by_gid, _FaceGlyphs(texts, nikhahits)))
        font.close()
    return tuple(faces)


def _face_glyphs_for(font_program: bytes) -> _FaceGlyphs | None:
    """The Thai glyphs of an embedded font, if it is a subset of a shipped face.

    WeasyPrint subsets with the glyph ids kept, so the subset's cmap must agree with the shipped
    face's wherever it has an entry; any other font is left as WeasyPrint wrote it.
    """
    subset = TTFont(io.BytesIO(font_program), lazy=True)
    subset_cmap = {subset.getGlyphID(name): code for code, name in subset.getBestCmap().items()}
    subset.close()
    if not subset_cmap:
        return None
    for by_gid, glyphs in _shipped_faces():
        if all(by_gid.get(gid) == code for gid, code in subset_cmap.items()):
            return glyphs
    return None


def _objects(pdf: pydyf.PDF, reference: Any) -> Any:
    """The object a pydyf reference (``b"12 0 R"``) names."""
    if isinstance(reference, bytes | str):
        number = int(reference.split()[0])
        return pdf.objects[number]
    return reference


def _type0_fonts(pdf: pydyf.PDF) -> Iterator[tuple[pydyf.Dictionary, pydyf.Stream, bytes]]:
    """(font, ToUnicode stream, embedded TrueType program) of every composite font in the PDF."""
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
        yield obj, _objects(pdf, obj["ToUnicode"]), b"".join(program_stream.stream)


def _remap_to_unicode(to_unicode: pydyf.Stream, texts: Mapping[int, str]) -> None:
    """Map each Thai glyph in a ToUnicode CMap to the characters its glyph name stands for."""

    def remap(match: re.Match[bytes]) -> bytes:
        text = texts.get(int(match[1], 16))
        if text is None:
            return match[0]
        return b"<" + match[1] + b"> <" + _utf16_hex(text) + b">"

    to_unicode.stream = [_BFCHAR.sub(remap, line) for line in to_unicode.stream]


def _utf16_hex(text: str) -> bytes:
    return text.encode("utf-16-be").hex().encode()


def _font_resource_names(pdf: pydyf.PDF) -> dict[int, list[bytes]]:
    """The names content streams give each font object in ``Tf`` (by the object's id())."""
    names: dict[int, list[bytes]] = {}
    for obj in pdf.objects:
        if not isinstance(obj, pydyf.Dictionary) or "Font" not in obj:
            continue
        fonts = _objects(pdf, obj["Font"])
        if not isinstance(fonts, dict):
            continue
        for name, reference in fonts.items():
            names.setdefault(id(_objects(pdf, reference)), []).append(str(name).encode())
    return names


def _content_streams(pdf: pydyf.PDF) -> Iterator[pydyf.Stream]:
    """Every stream that draws text: the pages' contents and the form XObjects."""
    for obj in pdf.objects:
        if isinstance(obj, pydyf.Stream):
            if obj.extra.get("Subtype") == "/Form":
                yield obj
        elif isinstance(obj, pydyf.Dictionary) and obj.get("Type") == "/Page":
            contents = obj.get("Contents")
            for reference in contents if isinstance(contents, list) else [contents]:
                stream = _objects(pdf, reference)
                if isinstance(stream, pydyf.Stream):
                    yield stream


_Item = tuple[int, bytes]
"""One element of a ``TJ`` array: (glyph id, b"") for a glyph, (-1, token) for a number."""


def _tj_items(array: bytes) -> list[_Item]:
    items: list[_Item] = []
    for match in _TJ_TOKEN.finditer(array):
        glyphs = match[1]
        if glyphs is None:
            items.append((-1, match[0]))
        else:  # Identity-H: two bytes a glyph, several glyphs to one string
            items.extend((int(glyphs[i : i + 4], 16), b"") for i in range(0, len(glyphs), 4))
    return items


def _tj(items: Sequence[_Item]) -> bytes:
    parts = [b"<%04x>" % glyph if glyph >= 0 else b" " + token for glyph, token in items]
    return b"[" + b"".join(parts) + b"] TJ"


def _sara_am_clusters(glyphs: Sequence[int], face: _FaceGlyphs) -> list[tuple[int, int]]:
    """(first, last) glyph of each SARA AM: a NIKHAHIT (alone, or one glyph with the tone mark
    before it) and the SARA AA after it."""
    return [
        (position, position + 1)
        for position, (glyph, after) in enumerate(itertools.pairwise(glyphs))
        if face.texts.get(glyph, "").startswith(NIKHAHIT) and face.texts.get(after) == SARA_AA
    ]


def _spanned_run(run: Sequence[bytes], face: _FaceGlyphs) -> list[bytes]:
    """A run of text operators (``TJ`` arrays, with text rise ``Ts`` between them for marks set
    higher or lower) with each Thai cluster of several glyphs in a marked-content span whose
    ``ActualText`` is the cluster as typed.

    Arrays are split only before a glyph, with the position adjustments before it, so that no
    array is left without a glyph (PDFium skips those, adjustment and all) and every glyph is
    drawn where it was.
    """
    if not any(code in op.lower() for op in run for code in face.nikhahits):
        return list(run)  # no SARA AM drawn here: most of a report's lines
    arrays = [_tj_items(match[1]) if (match := _TJ.fullmatch(op)) else [] for op in run]
    glyphs = [
        (number, index, glyph)
        for number, items in enumerate(arrays)
        for index, (glyph, _) in enumerate(items)
        if glyph >= 0
    ]
    clusters = _sara_am_clusters([glyph for _, _, glyph in glyphs], face)
    if not clusters:
        return list(run)

    def cut_before(position: int) -> tuple[int, int]:
        """(operator, item) where a span boundary before the ``position``-th glyph goes."""
        if position == len(glyphs):
            return len(run), 0
        number, index, _ = glyphs[position]
        if all(glyph < 0 for glyph, _ in arrays[number][:index]):
            index = 0
        return number, index

    markers: dict[int, dict[int, list[bytes]]] = {}
    for first, last in clusters:
        drawn = "".join(face.texts.get(glyph, "") for _, _, glyph in glyphs[first : last + 1])
        actual = b"<feff" + _utf16_hex(recompose_sara_am(drawn)) + b">"
        for (number, index), marker in (
            (cut_before(first), b"/Span <</ActualText " + actual + b">> BDC"),
            (cut_before(last + 1), b"EMC"),
        ):
            markers.setdefault(number, {}).setdefault(index, []).append(marker)
    # A span ending where the next begins: its EMC was placed first, as clusters are in order.
    operators: list[bytes] = []
    for number, op in enumerate(run):
        cuts = markers.get(number)
        if not cuts:
            operators.append(op)
            continue
        items = arrays[number]
        start = 0
        for index in sorted(cuts):
            if index > start:
                operators.append(_tj(items[start:index]))
            operators += cuts[index]
            start = index
        if start < len(items):
            operators.append(_tj(items[start:]))
    operators += markers.get(len(run), {}).get(0, [])
    return operators


def _span_thai_clusters(stream: pydyf.Stream, faces: Mapping[bytes, _FaceGlyphs]) -> None:
    """Give the Thai clusters drawn in a shipped face in ``stream`` their text (ActualText)."""
    face: _FaceGlyphs | None = None
    run: list[bytes] = []
    operators: list[Any] = []
    for operator in stream.stream:
        if face is not None and isinstance(operator, bytes) and operator.endswith((b" TJ", b" Ts")):
            run.append(operator)
            continue
        if run:
            operators += _spanned_run(run, face) if face is not None else run
            run = []
        if isinstance(operator, bytes) and operator.endswith(b" Tf"):
            font = _TF.fullmatch(operator)
            face = faces.get(font[1]) if font else None
        operators.append(operator)
    if run and face is not None:
        operators += _spanned_run(run, face)
    stream.stream = operators


def _repair_thai_text_layer(_document: Any, pdf: pydyf.PDF) -> None:
    """WeasyPrint finisher: map each Thai glyph of a shipped face to its own characters, and
    give each Thai cluster drawn as several glyphs its text as typed (ActualText)."""
    resource_names = _font_resource_names(pdf)
    faces: dict[bytes, _FaceGlyphs] = {}
    for font, to_unicode, program in _type0_fonts(pdf):
        glyphs = _face_glyphs_for(program)
        if not glyphs:
            continue
        _remap_to_unicode(to_unicode, glyphs.texts)
        for name in resource_names.get(id(font), []):
            faces[name] = glyphs
    if faces:
        for stream in _content_streams(pdf):
            _span_thai_clusters(stream, faces)


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


def warm_up() -> None:
    """Read the shipped faces and render a word once: what a process's first PDF costs extra
    (fontconfig, Pango and the fonts' tables), paid before its document is ready."""
    html_to_pdf('<p lang="th">ทำ</p>')


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
