"""A school's last accepted values: what the validator compares each accepted row with.

The warehouse reads them from the latest snapshot before the date being validated, and
``schoolnet validate --previous`` from the CSV that ``schoolnet export`` writes; the validator
only receives them, so it depends on neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, NamedTuple


class PreviousValues(NamedTuple):
    """The school's values as last accepted (the contract's keys, normalized as the validator
    makes them: enum keys, numbers, ISO dates as ``date``) and the date they were accepted.

    A named tuple: a morning makes one for every school of the nation, and a tuple is built
    several times faster than a frozen dataclass."""

    accepted_on: date
    values: Mapping[str, Any]


PreviousBySchool = Mapping[str, PreviousValues]
"""School code -> its last accepted values; a school without any is absent."""

__all__ = ["PreviousBySchool", "PreviousValues"]
