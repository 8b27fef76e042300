"""A test's tier is its folder: every test file is in one tier folder, every tier folder has its
marker (``TIER_MARKERS`` in tests/conftest.py), and tests/unit mirrors plugins/schoolnet."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from tests.conftest import TESTS, TIER_MARKERS, tier_of

ROOT = TESTS.parent
PACKAGE = ROOT / "plugins" / "schoolnet"
UNIT = TESTS / "unit"


def files_of_tests(config: pytest.Config) -> list[Path]:
    """Every file under tests/ that pytest collects tests from (its ``python_files`` patterns)."""
    patterns = config.getini("python_files")
    return sorted(
        path
        for path in TESTS.rglob("*.py")
        if not any(part.startswith((".", "__pycache__")) for part in path.parts)
        and any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns)
    )


def test_every_test_file_is_in_exactly_one_tier_folder(pytestconfig: pytest.Config) -> None:
    files = files_of_tests(pytestconfig)
    assert len(files) > len(TIER_MARKERS)
    outside = [
        str(path.relative_to(TESTS))
        for path in files
        if len(path.relative_to(TESTS).parts) < 2
        or path.relative_to(TESTS).parts[0] not in TIER_MARKERS
    ]
    assert not outside, (
        f"test files outside every tier folder {sorted(TIER_MARKERS)}: {outside}; move them "
        "into one, or add their folder and its marker to TIER_MARKERS in tests/conftest.py "
        "and pyproject.toml's markers"
    )
    # One tier each: no tier folder lies inside another.
    for folder in TIER_MARKERS:
        nested = [str(p.relative_to(TESTS)) for p in (TESTS / folder).rglob(folder) if p.is_dir()]
        assert not nested, f"tier folder {folder}/ inside a tier folder: {nested}"


def test_every_folder_of_test_files_has_a_tier_and_is_a_package(
    pytestconfig: pytest.Config,
) -> None:
    for path in files_of_tests(pytestconfig):
        assert tier_of(path) == TIER_MARKERS[path.relative_to(TESTS).parts[0]]
        # Imported as tests.<tier>.<...>.test_x: each folder on the way is a package.
        for folder in path.relative_to(TESTS).parents:
            assert (TESTS / folder / "__init__.py").is_file(), f"tests/{folder}/ has no __init__.py"


def test_every_tier_folder_holds_tests_and_its_marker_is_registered(
    pytestconfig: pytest.Config,
) -> None:
    registered = {line.split(":", 1)[0].strip() for line in pytestconfig.getini("markers")}
    files = files_of_tests(pytestconfig)
    for folder, marker in TIER_MARKERS.items():
        assert (TESTS / folder).is_dir(), f"TIER_MARKERS names tests/{folder}/, which is not there"
        holds_tests = any(path.is_relative_to(TESTS / folder) for path in files)
        assert holds_tests, f"tests/{folder}/ holds no tests"
        assert marker in registered, f"marker {marker!r} is not in pyproject.toml's markers"
    assert len(set(TIER_MARKERS.values())) == len(TIER_MARKERS), "two folders share a marker"


def test_collected_tests_carry_the_marker_of_their_folder(request: pytest.FixtureRequest) -> None:
    items = request.session.items
    assert items
    for item in items:
        tier = TIER_MARKERS[item.path.relative_to(TESTS).parts[0]]
        assert item.get_closest_marker(tier), f"{item.nodeid} lacks its tier marker {tier!r}"


def test_no_test_carries_the_marker_of_another_tier(request: pytest.FixtureRequest) -> None:
    """``-m unit`` selects tests/unit and nothing else, and so on for each tier. Only ``e2e``
    may stand beside another tier: it also says that a test runs Airflow (its time limit)."""
    items = request.session.items
    assert items
    others = set(TIER_MARKERS.values()) - {"e2e"}
    wrong = []
    for item in items:
        tier = TIER_MARKERS[item.path.relative_to(TESTS).parts[0]]
        marked = {mark.name for mark in item.iter_markers()} & others
        if marked - {tier}:
            wrong.append(f"{item.nodeid}: {sorted(marked - {tier})}")
    assert not wrong, f"tests marked with another folder's tier: {wrong[:5]}"


def test_each_unit_folder_mirrors_a_subpackage_of_schoolnet() -> None:
    folders = sorted(
        path.relative_to(UNIT)
        for path in UNIT.rglob("*")
        if path.is_dir() and not path.name.startswith((".", "__pycache__"))
    )
    assert folders
    for folder in folders:
        assert (PACKAGE / folder / "__init__.py").is_file(), (
            f"tests/unit/{folder}/ mirrors no package: plugins/schoolnet/{folder}/ is not one"
        )
