"""One spelling of text that renders alike, shared by every stage that matches what clerks type.

A clerk cannot see the difference between two spellings that render identically (a zero-width
space, a no-break space, a tone mark typed before its vowel, full-width digits), so neither may
the pipeline: the validator reads cells, headers and tab names through :func:`canonical` and
:func:`fold`, and the puller finds the data tab by :func:`fold`.
"""

from __future__ import annotations

import re
import unicodedata

THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
FULLWIDTH_DIGITS = "０１２３４５６７８９"
# Characters that are invisible in a cell yet break matching: zero-width spaces (Thai text often
# carries them as word breaks), word joiner, soft hyphen and byte-order mark.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
TABLE = str.maketrans(
    {
        **{thai: str(number) for number, thai in enumerate(THAI_DIGITS)},
        **{wide: str(number) for number, wide in enumerate(FULLWIDTH_DIGITS)},
        **dict.fromkeys(_INVISIBLE),
        **dict.fromkeys("\u00a0\u2007\u202f\u3000", " "),  # no-break, figure, narrow, wide spaces
        "\uff0c": ",",  # full-width comma
        "\uff0e": ".",  # full-width full stop
        "\uff0d": "-",  # full-width hyphen-minus
        "\u2212": "-",  # minus sign
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
    }
)
# Whether a text holds any character of the table: str.translate walks a non-ASCII text
# character by character through a dict, ten times slower than this search.
_NEEDS_TABLE = re.compile("[" + re.escape("".join(chr(key) for key in TABLE)) + "]")
SPACES = re.compile(r"\s+")
# A tone mark typed before the vowel above or below it renders the same as the standard order
# (vowel first), so a clerk cannot see which one they typed: ``ต่ิ`` and ``ติ่``.
_TONE_FIRST = re.compile("([\u0e48-\u0e4b])([\u0e31\u0e34-\u0e39])")


def canonical(text: str) -> str:
    """One spelling of text that renders alike: the table (Thai and full-width digits to ASCII,
    invisible characters dropped, odd spaces and dashes made plain), Unicode NFC and the
    Thai look-alikes (tone mark typed before its vowel, ``ํ`` + ``า`` for ``ำ``, two ``เ`` for
    ``แ``), so that what a clerk cannot tell apart the validator does not either.

    Every step is skipped when it has nothing to do: ASCII text (most cells) comes back as it
    is (the table maps only non-ASCII characters), and clean Thai text costs three scans.
    """
    if text.isascii():
        return text
    if _NEEDS_TABLE.search(text) is not None:
        text = text.translate(TABLE)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if "\u0e4d" in text:
        text = text.replace("\u0e4d\u0e32", "\u0e33")
    if "เเ" in text:
        text = text.replace("เเ", "แ")
    if _TONE_FIRST.search(text) is not None:
        text = _TONE_FIRST.sub(r"\2\1", text)
    return text


def fold(text: str) -> str:
    """Matching key of a header, tab name or enum cell: :func:`canonical`, then no whitespace
    and case folded."""
    return SPACES.sub("", canonical(text)).casefold()
