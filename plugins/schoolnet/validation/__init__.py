"""Validation of ESA district sheets against the contract: normalizers, findings, the validator.

The pipeline calls :func:`validate_sheet` once per pulled sheet, then :func:`apply_quarantine`
with the ESA's last accepted row count, and merges the accepted rows of an accepted sheet.
:func:`read_sheet_file` reads an ``.xlsx`` or ``.csv`` export for ``schoolnet validate``.
"""

from schoolnet.validation.files import SheetFileError, read_sheet_file
from schoolnet.validation.findings import SEVERITY, Finding, MessageBook, a1, column_letters
from schoolnet.validation.normalize import NormalizeError
from schoolnet.validation.quarantine import apply_quarantine
from schoolnet.validation.validator import Outcome, RowResult, SheetValidation, validate_sheet

__all__ = [
    "SEVERITY",
    "Finding",
    "MessageBook",
    "NormalizeError",
    "Outcome",
    "RowResult",
    "SheetFileError",
    "SheetValidation",
    "a1",
    "apply_quarantine",
    "column_letters",
    "read_sheet_file",
    "validate_sheet",
]
