"""A local SMTP server that keeps every message it receives as an ``.eml`` file.

The demo and the end-to-end tests send the report to it over loopback, exactly as production
sends to the ministry's mail server.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from schoolnet.core.files import write_atomically


class _Controller(Controller):
    """aiosmtpd's controller, able to listen on port 0: it learns the port the system gave
    before it connects to its own server, so no other process can take it in between."""

    def _trigger_server(self) -> None:
        if self.port == 0 and isinstance(self.server, asyncio.Server):
            self.port = int(self.server.sockets[0].getsockname()[1])
        super()._trigger_server()  # type: ignore[no-untyped-call]  # aiosmtpd: unannotated


class _SaveHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.Lock()
        self.count = 0
        # Faults for tests, each spent by one message: (reply, command) refusals and drops.
        self.refusals: list[tuple[str, str]] = []
        self.refused_recipients: set[str] = set()  # mailboxes answered 550, every time
        self.drops = 0
        self.refused = 0
        self.dropped = 0

    def _refusal(self, command: str) -> str | None:
        with self.lock:
            if self.refusals and self.refusals[0][1] == command:
                self.refused += 1
                return self.refusals.pop(0)[0]
        return None

    async def handle_MAIL(
        self, _server: Any, _session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        refusal = self._refusal("MAIL")
        if refusal is not None:
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            if address.lower() in self.refused_recipients:
                self.refused += 1
                return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, _session: Any, envelope: Any) -> str:
        refusal = self._refusal("DATA")
        if refusal is not None:
            return refusal
        with self.lock:
            drop = self.drops > 0
            if drop:
                self.drops -= 1
                self.dropped += 1
        if drop:  # the message was sent, the server goes away before it answers
            server.transport.close()
            return "421 4.4.2 Connection dropped"
        data: bytes = envelope.original_content or envelope.content
        with self.lock:
            self.count += 1
            match = re.search(rb"^Message-ID:\s*<([^>]+)>", data, re.IGNORECASE | re.MULTILINE)
            label = re.sub(r"[^A-Za-z0-9._-]", "_", match.group(1).decode()) if match else "message"
            existing = len(list(self.folder.glob("*.eml")))
            path = self.folder / f"{existing + 1:04d}-{label}.eml"
            write_atomically(path, data)
        return "250 Message accepted for delivery"


class MailSink:
    """An SMTP server on 127.0.0.1 writing what it receives into ``folder``.

    With ``credentials`` it offers AUTH PLAIN and LOGIN without TLS (loopback only), accepts
    only that user and password, and lists successful logins in ``logins``. ``refuse`` and
    ``drop`` make the next messages fail the way real servers do, for the fault tests.
    """

    def __init__(
        self,
        folder: Path,
        host: str = "127.0.0.1",
        port: int | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.folder = folder
        self.host = host
        self.port = port or 0  # 0: any free port, known once started
        self.credentials = credentials
        self.logins: list[str] = []
        self._handler = _SaveHandler(folder)
        auth: dict[str, Any] = {}
        if credentials is not None:
            auth = {
                "authenticator": self._authenticate,
                "auth_require_tls": False,
            }
        self._controller = _Controller(self._handler, hostname=host, port=self.port, **auth)

    def _authenticate(
        self, _server: Any, _session: Any, _envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword) or self.credentials is None:
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        if (login, password) != self.credentials:
            return AuthResult(success=False, handled=False)
        self.logins.append(f"{mechanism}:{login}")
        return AuthResult(success=True)

    def refuse_recipient(self, address: str, refused: bool = True) -> None:
        """Answer 550 to every message for ``address`` (a mailbox the server does not have),
        until called again with ``refused=False``."""
        with self._handler.lock:
            if refused:
                self._handler.refused_recipients.add(address.lower())
            else:
                self._handler.refused_recipients.discard(address.lower())

    def refuse(self, count: int, code: int = 451, command: str = "DATA") -> None:
        """Answer the next ``count`` messages with ``code`` at ``command`` (MAIL or DATA)."""
        if command not in ("MAIL", "DATA"):
            raise ValueError("refuse at MAIL or DATA")
        reply = f"{code} 4.3.0 Try again later" if code < 500 else f"{code} 5.7.1 Refused"
        with self._handler.lock:
            self._handler.refusals.extend([(reply, command)] * count)

    def drop(self, count: int) -> None:
        """Close the connection, without an answer, after the next ``count`` messages' DATA."""
        with self._handler.lock:
            self._handler.drops += count

    @property
    def faults_spent(self) -> int:
        """How many refusals and drops have happened."""
        return self._handler.refused + self._handler.dropped

    def start(self) -> MailSink:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller.start()
        self.port = self._controller.port
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
