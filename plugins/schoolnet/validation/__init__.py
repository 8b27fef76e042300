"""Validation of ESA district sheets against the contract: normalizers, findings, the validator.

The pipeline calls :func:`validate_sheet` once per pulled sheet and merges the accepted rows.
"""

from schoolnet.validation.findings import SEVERITY, Finding, MessageBook, a1, column_letters
from schoolnet.validation.normalize import NormalizeError
from schoolnet.validation.validator import RowResult, SheetValidation, validate_sheet

__all__ = [
    "SEVERITY",
    "Finding",
    "MessageBook",
    "NormalizeError",
    "RowResult",
    "SheetValidation",
    "a1",
    "column_letters",
    "validate_sheet",
]
