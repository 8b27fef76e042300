"""``schoolnet sheets provision``: set up or repair ESA sheets from the contract."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from schoolnet.core.config import GoogleSettings
from schoolnet.core.registry import Esa, School

# Quick retries for the local emulator, which has no settings file of its own to honour.
EMULATOR_RETRIES = GoogleSettings(
    request_timeout_seconds=30.0, max_attempts=3, backoff_base_seconds=0.5, backoff_max_seconds=4.0
)

EXIT_ATTENTION = 2  # done what was safe; a person must fix something in the sheet


def _reader(emulator_url: str | None) -> Any:
    from schoolnet.ingestion.ingest import SheetsReader

    if emulator_url:
        from schoolnet.ingestion.google import EmulatorSession

        return SheetsReader(EmulatorSession(emulator_url), EMULATOR_RETRIES)
    from schoolnet.core.config import load_settings
    from schoolnet.orchestration.provision_tasks import writing_reader

    return writing_reader(load_settings())


def _registry(args: argparse.Namespace, reader: Any) -> tuple[list[Esa], list[School]]:
    """The ESAs and schools: from --registry-dir, --esas/--schools, else the settings' registry
    (the ESA registry's Google Sheet when the settings name one)."""
    from schoolnet.core.registry import read_esas, read_schools

    esas_path: Path | None = args.esas
    schools_path: Path | None = args.schools
    if args.registry_dir is not None:
        if esas_path is not None or schools_path is not None:
            raise RuntimeError("give either --registry-dir or --esas/--schools, not both")
        esas_path = args.registry_dir / "esas.csv"
        schools_path = args.registry_dir / "schools.csv"
    if esas_path is not None and schools_path is not None:
        return read_esas(esas_path), read_schools(schools_path)
    from schoolnet.core.config import load_settings
    from schoolnet.orchestration.provision_tasks import registry_esas

    settings = load_settings()
    esas = read_esas(esas_path) if esas_path is not None else registry_esas(settings, reader)
    return esas, read_schools(schools_path or settings.registry.schools)


def _provision(args: argparse.Namespace) -> int:
    from schoolnet.contract import load_contract
    from schoolnet.core.registry import RegistryError
    from schoolnet.operations.provision import ProvisionError, provision_sheet

    reader = _reader(args.emulator_url)
    registry, schools = _registry(args, reader)
    esas = {esa.esa_code: esa for esa in registry}
    unknown = [code for code in args.esa if code not in esas]
    if unknown:
        raise RegistryError(f"ESA code(s) not in the ESA registry: {', '.join(unknown)}")
    contract = load_contract()
    status = 0
    for code in args.esa:
        try:
            report = provision_sheet(
                reader, esas[code], schools, contract, create=args.create, reformat=args.reformat
            )
        except ProvisionError as error:
            print(f"schoolnet sheets provision: {error}", file=sys.stderr)
            status = 1
            continue
        print(report.summary(), flush=True)
        if report.needs_attention and status == 0:
            status = EXIT_ATTENTION
    return status


def register(commands: Any) -> None:
    parser = commands.add_parser("sheets", help="set up the ESAs' Google Sheets")
    actions = parser.add_subparsers(dest="sheets_command", required=True, metavar="ACTION")
    provision = actions.add_parser(
        "provision",
        help="create or repair an ESA's sheet from the contract (idempotent, never overwrites "
        "what clerks typed)",
        description="Write the Thai header, dropdowns, number formats and the instructions tab, "
        "and add a row for every registry school the sheet lacks. Exit 0 when done, 2 when the "
        "sheet needs a person to fix its layout (nothing unsafe was written), 1 on errors.",
    )
    provision.add_argument("esa", nargs="+", metavar="ESA_CODE")
    provision.add_argument(
        "--registry-dir",
        type=Path,
        metavar="DIR",
        help="folder holding esas.csv and schools.csv (default: the registry in the settings)",
    )
    provision.add_argument("--esas", type=Path, metavar="CSV", help="the ESA registry")
    provision.add_argument("--schools", type=Path, metavar="CSV", help="the school registry")
    provision.add_argument(
        "--emulator-url",
        metavar="URL",
        help="talk to a local Sheets emulator (default: Google, through the Airflow connection "
        "named in the settings)",
    )
    provision.add_argument(
        "--create",
        action="store_true",
        help="when the ESA has no spreadsheet (no id, or Google answers 404), create one and "
        "print its id for esas.csv",
    )
    provision.add_argument(
        "--reformat",
        action="store_true",
        help="send the dropdowns, number formats and header protection again even if the "
        "sheet's fingerprint says they are current",
    )
    provision.set_defaults(handler=_provision)
