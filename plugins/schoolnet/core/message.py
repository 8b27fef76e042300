"""A rendered email: what the report and the ESA feedback produce and delivery sends.

It sits below both, so the report can render an email without importing the code that sends it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InlineImage:
    """A picture the HTML part shows as ``<img src="cid:{cid}">``."""

    cid: str  # without angle brackets
    filename: str
    content: bytes
    subtype: str = "png"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str


@dataclass(frozen=True)
class RenderedEmail:
    """An email's subject, its two bodies, and what goes with them, ready to send."""

    subject: str
    html: str
    text: str
    images: tuple[InlineImage, ...] = ()
    attachments: tuple[Attachment, ...] = ()
