"""``schoolnet env`` and ``schoolnet demo-servers``: the operator's runbook in a checkout.

After ``make demo`` a checkout holds what a server holds: a warehouse (``out/warehouse.db``),
settings (``out/demo-settings.toml``), the sheets (``out/emulator/``) and a migrated Airflow home
(``.airflow/``). ``schoolnet env`` prints the shell exports that point the ``schoolnet`` and
``airflow`` commands of ``docs/operations.md`` at them, as ``make demo``'s own run was pointed
(``eval "$(.venv/bin/schoolnet env)"``); ``schoolnet demo-servers`` serves the sheets and an SMTP
server that keeps what it receives, on the loopback ports those exports name, for the commands
that read a sheet or send mail.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from schoolnet.core.paths import project_root
from schoolnet.devtools.demosetup import DEMO_QUOTA_PER_MINUTE, demo_airflow

if TYPE_CHECKING:
    from schoolnet.devtools.devenv import LocalAirflow

EMULATOR_PORT = 8787  # `schoolnet emulator serve`'s default, as the runbook's provisioning line
SMTP_PORT = 2525  # not 8025, which the Docker deployment's mail viewer takes
LOOPBACK = "127.0.0.1"


def checkout_airflow() -> LocalAirflow:
    """The checkout's Airflow as ``make demo`` set it up, with the servers on fixed ports."""
    root = project_root()
    return demo_airflow(
        root,
        root / "out",
        emulator_url=f"http://{LOOPBACK}:{EMULATOR_PORT}",
        smtp_port=SMTP_PORT,
    )


def shell_exports(variables: Mapping[str, str], bin_dir: Path) -> str:
    """``export`` lines for a POSIX shell, each value quoted whole (they hold JSON), and the
    virtual environment's commands first on the ``PATH``."""
    lines = [f"export {name}={shlex.quote(value)}" for name, value in variables.items()]
    lines.append(f'export PATH={shlex.quote(str(bin_dir))}:"$PATH"')
    return "\n".join(lines) + "\n"


def _env(_args: argparse.Namespace) -> int:
    airflow = checkout_airflow()
    root = project_root()
    missing = [
        str(path.relative_to(root))
        for path in (root / "out" / "warehouse.db", airflow.home / "airflow.db")
        if not path.exists()
    ]
    if missing:
        # On standard error, so that the shell's eval still gets only the exports.
        print(
            f"schoolnet env: no {' and no '.join(missing)} in {root}: run `make demo` first "
            "(it makes the warehouse and migrates Airflow's metadata database)",
            file=sys.stderr,
        )
    sys.stdout.write(shell_exports(airflow.variables(), Path(sys.executable).parent))
    return 0


def _listen(start: Any, what: str, port: int) -> None:
    try:
        start()
    except (OSError, RuntimeError) as error:
        raise RuntimeError(
            f"the {what} cannot listen on {LOOPBACK}:{port} ({error}): is `schoolnet "
            "demo-servers` already running? Stop whatever holds the port, then run it again"
        ) from error


def _demo_servers(_args: argparse.Namespace) -> int:
    from schoolnet.devtools.emulator import Emulator
    from schoolnet.devtools.mailsink import MailSink

    out = project_root() / "out"
    state = out / "emulator"
    if not (state / "spreadsheets").is_dir():
        raise RuntimeError(f"no demo sheets in {state}: run `make demo` first")
    emulator = Emulator(
        state,
        LOOPBACK,
        EMULATOR_PORT,
        read_quota_per_minute=DEMO_QUOTA_PER_MINUTE,
        write_quota_per_minute=DEMO_QUOTA_PER_MINUTE,
    )
    sink = MailSink(out / "mail", LOOPBACK, SMTP_PORT)
    done = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    _listen(emulator.start, "Sheets emulator", EMULATOR_PORT)
    try:
        _listen(sink.start, "SMTP server", SMTP_PORT)
        try:
            print(f"Sheets emulator at {emulator.base_url}, serving {state}", flush=True)
            print(
                f"SMTP server at {LOOPBACK}:{SMTP_PORT}, keeping what it receives in "
                f"{out / 'mail'}",
                flush=True,
            )
            print("until Ctrl-C", flush=True)
            while not done.wait(0.5):
                pass
        finally:
            sink.stop()
    finally:
        emulator.stop()
    return 0


def register(commands: Any) -> None:
    env = commands.add_parser(
        "env",
        help=(
            'the shell exports for the runbook in a checkout after make demo: eval "$(.venv/bin/'
            'schoolnet env)"'
        ),
        description=(
            "Print the exports that point schoolnet and airflow at this checkout's demo: "
            "Airflow home .airflow/, the demo's settings, the warehouse out/warehouse.db, "
            f"the Sheets emulator at {LOOPBACK}:{EMULATOR_PORT} and an SMTP server at "
            f"{LOOPBACK}:{SMTP_PORT} (schoolnet demo-servers), and .venv/bin on the PATH."
        ),
    )
    env.set_defaults(handler=_env)
    servers = commands.add_parser(
        "demo-servers",
        help=(
            f"serve the demo's sheets ({LOOPBACK}:{EMULATOR_PORT}) and an SMTP server "
            f"({LOOPBACK}:{SMTP_PORT}, into out/mail) for schoolnet env's commands, until Ctrl-C"
        ),
    )
    servers.set_defaults(handler=_demo_servers)
