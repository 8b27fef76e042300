"""The ESA and school registries as a run uses them.

The ESA registry is fixed for the whole run by its first task and kept beside the day's data
(``data/registry/<date>/esas.csv``), so every step of the run, and a replay later, sees the
same ESAs; the school registry is parsed once per process.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from schoolnet.core.config import Settings
from schoolnet.core.registry import (
    Esa,
    RegistryError,
    School,
    esas_from_values,
    read_esas,
    read_schools,
    schools_by_code,
    write_csv,
)
from schoolnet.ingestion.ingest import SheetReadError, SheetsReader

log = logging.getLogger(__name__)


def run_registry_path(settings: Settings, report_date: date) -> Path:
    return settings.storage.data_dir / "registry" / report_date.isoformat() / "esas.csv"


def snapshot_registry(settings: Settings, report_date: date, reader: SheetsReader) -> list[Esa]:
    """Fix the ESA registry for the whole run (from its file or its Google Sheet), so every
    step of the run, and a replay later, sees the same ESAs."""
    source = settings.registry
    if source.esas_sheet:
        try:
            read = reader.read_data_tab(source.esas_sheet, source.esas_sheet_tab)
            esas = esas_from_values(read.values, f"ESA registry sheet {source.esas_sheet}")
        except SheetReadError as error:
            earlier = sorted((settings.storage.data_dir / "registry").glob("*/esas.csv"))
            earlier = [p for p in earlier if p.parent.name < report_date.isoformat()]
            if not earlier:
                raise RegistryError(
                    f"the ESA registry sheet {source.esas_sheet} could not be read "
                    f"({error.detail}) and no earlier copy exists: share it with the service "
                    'account or set [registry] esas_sheet to "" to use the file'
                ) from error
            log.warning(
                "ESA registry sheet not read (%s); using the copy of %s",
                error.detail,
                earlier[-1].parent.name,
            )
            esas = read_esas(earlier[-1])
    else:
        esas = read_esas(source.esas)
    write_csv(run_registry_path(settings, report_date), esas)
    return esas


def run_esas(settings: Settings, report_date: date) -> list[Esa]:
    """The ESA registry the run of ``report_date`` used (the settings' file if none was kept)."""
    path = run_registry_path(settings, report_date)
    return read_esas(path if path.exists() else settings.registry.esas)


def past_registry(settings: Settings, report_date: date) -> list[Esa]:
    """The ESA registry of a run of a past date, found without reading Google: the one that
    date's run kept, else the newest kept before it, else the settings' file (or, when the
    registry is a Google Sheet, the oldest kept copy). Kept for the date from then on."""
    path = run_registry_path(settings, report_date)
    if path.exists():
        return read_esas(path)
    kept = sorted((settings.storage.data_dir / "registry").glob("*/esas.csv"))
    earlier = [copy for copy in kept if copy.parent.name <= report_date.isoformat()]
    if earlier:
        source = earlier[-1]
    elif not settings.registry.esas_sheet:
        source = settings.registry.esas
    elif kept:
        source = kept[0]
    else:
        raise RegistryError(
            f"no copy of the ESA registry is kept for {report_date.isoformat()} or any other "
            f"date, and a run of a past date does not read the registry sheet "
            f"{settings.registry.esas_sheet}: run today's date first"
        )
    esas = read_esas(source)
    write_csv(path, esas)
    return esas


_registry_cache: dict[tuple[Path, int, int], Mapping[str, School]] = {}


def load_school_registry(settings: Settings) -> Mapping[str, School]:
    """The school registry by code, parsed once per process while the file is unchanged.

    Every mapped pull needs it (to tell a school of another ESA from an unknown code); when
    several pulls run in one process, as under ``airflow dags test``, they share one parse.
    """
    path = settings.registry.schools
    status = path.stat()
    key = (path, status.st_mtime_ns, status.st_size)
    if key not in _registry_cache:
        _registry_cache.clear()
        _registry_cache[key] = schools_by_code(read_schools(path))
    return _registry_cache[key]
