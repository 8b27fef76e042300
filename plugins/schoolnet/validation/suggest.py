"""The school a row with a wrong code most likely means, found by its name.

A clerk who leaves the code blank, types a code the registry does not know, or swaps two of its
digits usually types the school's name right, or nearly: with or without ``โรงเรียน``/``รร.``,
with odd spaces, with ``ํา`` for ``ำ``, or one letter off. Naming the school and its code in the
finding's message saves the clerk a look-up in the registry. Only a school of the sheet's own
ESA is named, and only when exactly one school fits: a guess between two is worse than none.
The row stays rejected either way; the suggestion only helps the clerk type the code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from schoolnet.core.registry import School
from schoolnet.validation.normalize import name_key

# How far a typed name (its comparable key) may be from the registry's and still name the
# school: one letter added, dropped or changed, and only for names long enough that one
# letter does not make another school's name.
MAX_EDITS = 1
MIN_FUZZY_LENGTH = 6

_INDEX: list[tuple[Mapping[str, School], int, tuple[str, ...], dict[str, list[tuple[str, School]]]]]
_INDEX = []


def _by_esa(
    schools: Mapping[str, School], prefixes: tuple[str, ...]
) -> dict[str, list[tuple[str, School]]]:
    """Each ESA's schools with their name keys, built once per registry (a morning checks 245
    sheets against one registry, which is never changed while they are checked)."""
    entry = _INDEX[0] if _INDEX else None
    if entry is None or entry[0] is not schools or entry[1] != len(schools) or entry[2] != prefixes:
        grouped: dict[str, list[tuple[str, School]]] = {}
        for school in schools.values():
            key = name_key(school.school_name, prefixes)
            grouped.setdefault(school.esa_code, []).append((key, school))
        for members in grouped.values():
            members.sort(key=lambda item: item[1].school_code)
        entry = (schools, len(schools), prefixes, grouped)
        _INDEX[:] = [entry]
    return entry[3]


def within_one_edit(first: str, second: str) -> bool:
    """Whether ``second`` is ``first`` with at most one letter added, dropped or changed."""
    if first == second:
        return True
    shorter, longer = sorted((first, second), key=len)
    if len(longer) - len(shorter) > MAX_EDITS:
        return False
    for index, (a, b) in enumerate(zip(shorter, longer, strict=False)):
        if a != b:
            if len(shorter) == len(longer):
                return shorter[index + 1 :] == longer[index + 1 :]
            return shorter[index:] == longer[index + 1 :]
    return True  # the longer one only has one more letter at its end


def transpositions(code: str) -> set[str]:
    """``code`` with each pair of neighbouring, different digits swapped."""
    swapped = set()
    for index in range(len(code) - 1):
        if code[index] != code[index + 1]:
            swapped.add(code[:index] + code[index + 1] + code[index] + code[index + 2 :])
    return swapped


def _agrees(typed: str, registered: str) -> bool:
    """Whether a typed name key names a registered one: equal, or one letter off if long."""
    if typed == registered:
        return True
    return min(len(typed), len(registered)) >= MIN_FUZZY_LENGTH and within_one_edit(
        typed, registered
    )


def _only(found: Sequence[School]) -> School | None:
    return found[0] if len(found) == 1 else None


def suggest_school(
    schools: Mapping[str, School],
    esa_code: str,
    name: str | None,
    typed_code: str | None = None,
    prefixes: Sequence[str] = ("โรงเรียน", "รร.", "ร.ร."),
) -> School | None:
    """The one school of ``esa_code`` that a row named ``name`` (with ``typed_code``, not a
    code of this ESA, or None) most likely means; None if no school, or more than one, fits.

    In order: a school whose code is the typed code with two neighbouring digits swapped and
    whose name agrees; else the one school whose name is the typed name (after dropping the
    prefix, spaces and look-alike spellings); else the one school one letter away.
    """
    if not name:
        return None
    keys = tuple(prefixes)
    typed = name_key(name, keys)
    if not typed:
        return None
    members = _by_esa(schools, keys).get(esa_code, [])
    if typed_code:
        swapped = transpositions(typed_code)
        found = [s for key, s in members if s.school_code in swapped and _agrees(typed, key)]
        if found:
            return _only(found)
    exact = [school for key, school in members if key == typed]
    if exact:
        return _only(exact)
    if len(typed) < MIN_FUZZY_LENGTH:
        return None
    return _only([school for key, school in members if _agrees(typed, key)])
