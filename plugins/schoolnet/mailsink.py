"""A local SMTP server that keeps every message it receives as an ``.eml`` file.

The demo and the end-to-end tests send the report to it over loopback, exactly as production
sends to the ministry's mail server.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class _SaveHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.Lock()
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data: bytes = envelope.original_content or envelope.content
        with self.lock:
            self.count += 1
            match = re.search(rb"^Message-ID:\s*<([^>]+)>", data, re.IGNORECASE | re.MULTILINE)
            label = re.sub(r"[^A-Za-z0-9._-]", "_", match.group(1).decode()) if match else "message"
            existing = len(list(self.folder.glob("*.eml")))
            path = self.folder / f"{existing + 1:04d}-{label}.eml"
            self.folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return "250 Message accepted for delivery"


class MailSink:
    """An SMTP server on 127.0.0.1 writing what it receives into ``folder``."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.folder = folder
        self.host = host
        self.port = port or free_port(host)
        self._handler = _SaveHandler(folder)
        self._controller = Controller(self._handler, hostname=host, port=self.port)

    def start(self) -> MailSink:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def received(self) -> int:
        return self._handler.count

    def messages(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml"))

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _serve(args: Any) -> int:
    import signal

    sink = MailSink(args.out, port=args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with sink:
        print(f"SMTP server on 127.0.0.1:{sink.port}, keeping messages in {args.out}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "mail-sink", help="run a local SMTP server that keeps every message as an .eml file"
    )
    parser.add_argument("--out", type=Path, default=Path("out/mail"), help="folder for .eml files")
    parser.add_argument("--port", type=int, default=8025, help="port on 127.0.0.1 (default 8025)")
    parser.set_defaults(handler=_serve)
