"""What every demo command sets up first: the demo data set and the demo's settings file.

``schoolnet demo``, ``schoolnet demo --live`` and ``schoolnet demo-ui`` share these, so they live
apart from each command and none of the commands imports another for them.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schoolnet.devtools.devenv import LocalAirflow

DEMO_QUOTA_PER_MINUTE = 100_000  # generous: quota pacing is measured in the benchmark instead
FAULT_STORIES = {
    "broken_header": "retyped its school code header (the sheet is rejected)",
    "emptied": "deleted every row (the sheet is quarantined)",
    "unshared": "no longer shares its sheet (it cannot be read)",
}


def say(message: str) -> None:
    print(f"[schoolnet demo] {message}", flush=True)


def ensure_demo_data(folder: Path, seed: int, messy: float | None = None) -> Any:
    """The national demo data set in ``folder``: reused when it is the one asked for (``messy``
    None: the demo's rate), else made anew, and then what the demo built on the earlier one,
    its warehouse, is dropped."""
    from schoolnet.devtools.demo.generate import (
        DEMO_IMPLAUSIBLE_RATE,
        DEMO_MESSY_RATE,
        generate,
        read_manifest,
    )

    rate = DEMO_MESSY_RATE if messy is None else messy
    faults = rate > 0  # a clean day is clean through and through
    slips = DEMO_IMPLAUSIBLE_RATE if faults else 0.0
    manifest_file = folder / "manifest.json"
    if manifest_file.exists():
        manifest = read_manifest(folder)
        if (
            manifest.seed == seed
            and manifest.messy_rate == rate
            and bool(manifest.sheet_faults) == faults
            and manifest.implausible_rate == slips
            and manifest.esa_count >= 200
        ):
            say(f"demo data set already in {folder} (seed {seed}, messy {rate:g}); reusing it")
            return manifest
    say(f"making the national demo data set (seed {seed}, messy {rate:g}) ...")
    started = time.monotonic()
    manifest = generate(
        folder, seed=seed, messy_rate=rate, sheet_faults=faults, implausible_rate=slips
    )
    (folder.parent / "warehouse.db").unlink(missing_ok=True)  # its history was of another set
    say(
        f"demo data: {manifest.esa_count} ESAs, {manifest.school_count:,} schools, "
        f"{len(manifest.days)} days, {rate:.0%} of rows with a clerk mistake, "
        f"in {time.monotonic() - started:.1f}s"
    )
    for fault in manifest.sheet_faults:
        say(f"  on {fault.day.isoformat()}: ESA {fault.esa_code} {FAULT_STORIES[fault.kind]}")
    return manifest


def demo_settings(root: Path, out: Path) -> Path:
    """The embedded settings, with the Google pacing raised to the emulator's generous quota
    (the demo's emulator serves the same quota, so the pacing never loses an ESA to it), and
    the data under ``out``."""
    text = (root / "config" / "schoolnet.toml").read_text(encoding="utf-8")
    for key in ("read_requests_per_minute", "write_requests_per_minute"):
        text = re.sub(rf"(?m)^{key} = \S+", f"{key} = {DEMO_QUOTA_PER_MINUTE}", text)
    text = text.replace('"out/', f'"{out.resolve()}/').replace('"config/', f'"{root}/config/')
    path = out / "demo-settings.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def demo_warehouse_url(out: Path) -> str:
    """The demo's own warehouse: ``out/warehouse.db``."""
    return f"sqlite:///{out / 'warehouse.db'}"


def demo_airflow(
    root: Path, out: Path, *, emulator_url: str, smtp_port: int, warehouse_url: str | None = None
) -> LocalAirflow:
    """The project-local Airflow the demo runs in (home ``.airflow/``, the demo's settings), its
    connections pointing at these servers and at ``warehouse_url`` (default: the demo's own)."""
    from schoolnet.devtools.devenv import LocalAirflow

    return LocalAirflow(
        home=root / ".airflow",
        config_file=demo_settings(root, out),
        emulator_url=emulator_url,
        smtp_port=smtp_port,
        warehouse_url=warehouse_url or demo_warehouse_url(out),
    )
