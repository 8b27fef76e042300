"""The report's font: Sarabun, shipped with the project (package ``fontpkg-sarabun``, OFL).

Charts and the PDF name these files directly, so what the ministry reads never depends on the
fonts a machine happens to have: a worker without Thai fonts draws the same glyphs as a laptop.
"""

from __future__ import annotations

import functools
from pathlib import Path

import fontpkg_sarabun
from matplotlib import font_manager

FAMILY = "Sarabun"
"""The family name inside the shipped files (what CSS and matplotlib look fonts up by)."""

FONT_DIR = Path(fontpkg_sarabun.__file__).resolve().parent / "files"
REGULAR = FONT_DIR / "Sarabun-Regular.ttf"
BOLD = FONT_DIR / "Sarabun-Bold.ttf"
ITALIC = FONT_DIR / "Sarabun-Italic.ttf"
BOLD_ITALIC = FONT_DIR / "Sarabun-BoldItalic.ttf"

# (file, CSS font-weight, CSS font-style) of every face the PDF may use.
_FACES: tuple[tuple[Path, int, str], ...] = (
    (REGULAR, 400, "normal"),
    (BOLD, 700, "normal"),
    (ITALIC, 400, "italic"),
    (BOLD_ITALIC, 700, "italic"),
)


FACE_FILES: tuple[Path, ...] = tuple(path for path, _, _ in _FACES)


def font_file(*, bold: bool = False) -> Path:
    """The shipped Sarabun file for regular or bold text; fails loudly if the package lacks it."""
    path = BOLD if bold else REGULAR
    if not path.is_file():
        raise FileNotFoundError(f"the shipped Sarabun font is missing: {path.name} in {FONT_DIR}")
    return path


@functools.cache
def font_properties(*, size: float, bold: bool = False) -> font_manager.FontProperties:
    """matplotlib font properties bound to the shipped file itself, not to a family lookup."""
    return font_manager.FontProperties(fname=font_file(bold=bold), size=size)


def font_face_css() -> str:
    """``@font-face`` rules (``file://`` URIs) for WeasyPrint: Sarabun regular, bold and italics."""
    font_file(bold=False), font_file(bold=True)  # the two faces the report cannot do without
    rules = []
    for path, weight, style in _FACES:
        if not path.is_file():
            continue  # an italic missing from a future package falls back to a slanted face
        rules.append(
            "@font-face {"
            f' font-family: "{FAMILY}";'
            f' src: url("{path.as_uri()}") format("truetype");'
            f" font-weight: {weight};"
            f" font-style: {style};"
            " }"
        )
    return "\n".join(rules) + "\n"
