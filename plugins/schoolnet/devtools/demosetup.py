"""What every demo command sets up first: the demo data set and the demo's settings file.

``schoolnet demo``, ``schoolnet demo --live`` and ``schoolnet demo-ui`` share these, so they live
apart from each command and none of the commands imports another for them.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

DEMO_QUOTA_PER_MINUTE = 100_000  # generous: quota pacing is measured in the benchmark instead


def say(message: str) -> None:
    print(f"[schoolnet demo] {message}", flush=True)


def ensure_demo_data(folder: Path, seed: int) -> Any:
    """The national demo data set in ``folder``: reused when it is the one ``seed`` makes."""
    from schoolnet.devtools.demo.generate import generate, read_manifest

    manifest_file = folder / "manifest.json"
    if manifest_file.exists():
        manifest = read_manifest(folder)
        if manifest.seed == seed and manifest.messy_rate == 0.0 and manifest.esa_count >= 200:
            say(f"demo data set already in {folder} (seed {seed}); reusing it")
            return manifest
    say(f"making the national demo data set (seed {seed}) ...")
    started = time.monotonic()
    manifest = generate(folder, seed=seed)
    say(
        f"demo data: {manifest.esa_count} ESAs, {manifest.school_count:,} schools, "
        f"{len(manifest.days)} days, in {time.monotonic() - started:.1f}s"
    )
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
