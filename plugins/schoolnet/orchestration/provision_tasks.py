"""Task bodies of the ``schoolnet_provision_sheets`` DAG: Airflow context in, library out.

Everything here runs inside a task; importing this module does no work and looks nothing up.
The CLI (``schoolnet sheets provision``) shares the registry and Google access helpers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from schoolnet.core.registry import Esa
from schoolnet.orchestration.airflow_glue import current_context, esa_task_context, google_reader
from schoolnet.orchestration.handoffs import RegistryEntry

if TYPE_CHECKING:
    from schoolnet.core.config import Settings
    from schoolnet.ingestion.ingest import SheetsReader

log = logging.getLogger(__name__)

DAG_ID = "schoolnet_provision_sheets"
# A provisioning of all 245 ESAs sends a few paced calls per sheet (about 10 minutes at Google's
# quota); each sheet's task takes seconds. Wide margins, so that a hung call ends failed.
DAGRUN_TIMEOUT = timedelta(hours=6)
TASK_TIMEOUTS = {
    "choose_esas": timedelta(minutes=10),
    "provision_sheet": timedelta(minutes=20),
}


def writing_reader(settings: Settings) -> SheetsReader:
    """The daily pipeline's Google access, with the write scope that provisioning needs."""
    reader: SheetsReader = google_reader(settings, write=True)
    return reader


def registry_esas(settings: Settings, reader: SheetsReader) -> list[Esa]:
    """The ESA registry where the daily run reads it: its Google Sheet if set, else the file."""
    from schoolnet.core.registry import RegistryError, esas_from_values, read_esas
    from schoolnet.ingestion.ingest import SheetReadError

    source = settings.registry
    if not source.esas_sheet:
        return read_esas(source.esas)
    try:
        read = reader.read_data_tab(source.esas_sheet, source.esas_sheet_tab)
    except SheetReadError as error:
        raise RegistryError(
            f"the ESA registry sheet {source.esas_sheet} could not be read: {error.detail}"
        ) from error
    return esas_from_values(read.values, f"ESA registry sheet {source.esas_sheet}")


def requested_codes(raw: Any) -> list[str]:
    """ESA codes from the run's param: a list, or text split on commas and spaces."""
    items: Iterable[Any] = [raw] if isinstance(raw, str) else (raw or [])
    codes: list[str] = []
    for item in items:
        for code in re.split(r"[\s,]+", str(item)):
            if code and code not in codes:
                codes.append(code)
    return codes


def select_esas(esas: Sequence[Esa], codes: Sequence[str]) -> list[Esa]:
    """The registry's ESAs named by ``codes`` (all of them when empty), in registry order."""
    if not codes:
        return list(esas)
    known = {esa.esa_code for esa in esas}
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ValueError(f"ESA code(s) not in the registry: {', '.join(unknown)}")
    return [esa for esa in esas if esa.esa_code in codes]


def load_selection() -> list[RegistryEntry]:
    """The ESAs this run provisions, one entry each for task mapping."""
    from airflow.sdk.exceptions import AirflowFailException

    from schoolnet.core.config import load_settings

    settings = load_settings()
    codes = requested_codes(current_context()["params"].get("esa_codes"))
    esas = registry_esas(settings, writing_reader(settings))
    try:
        chosen = select_esas(esas, codes)
    except ValueError as error:
        raise AirflowFailException(str(error)) from error  # a typo: retrying cannot help
    log.info("provisioning %d ESA sheet(s)", len(chosen))
    return [RegistryEntry(esa=esa) for esa in chosen]


def provision_esa(entry: RegistryEntry) -> dict[str, Any]:
    """Provision one ESA's sheet; fail (without retries) when a person must act."""
    from airflow.sdk.exceptions import AirflowFailException

    from schoolnet.core.config import load_settings
    from schoolnet.core.registry import read_schools
    from schoolnet.operations.provision import ProvisionError, provision_sheet

    esa = entry.esa
    context = esa_task_context(esa)
    settings = load_settings()
    schools = [s for s in read_schools(settings.registry.schools) if s.esa_code == esa.esa_code]
    reformat = bool(context["params"].get("reformat", False))
    try:
        report = provision_sheet(
            writing_reader(settings),
            esa,
            schools,
            reformat=reformat,
        )
    except ProvisionError as error:
        if error.permanent:
            raise AirflowFailException(str(error)) from error
        raise
    if report.needs_attention:
        raise AirflowFailException(report.summary())
    return report.to_dict()
