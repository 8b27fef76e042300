"""The settings file the tests that run the pipeline write: one place for its shape."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def write_test_settings(
    path: Path,
    *,
    esas: Path,
    schools: Path,
    root: Path,
    requests_per_minute: int = 0,
    cc: Sequence[str] = (),
    operators: Sequence[str] = (),
    request_timeout_seconds: float = 10,
    max_attempts: int = 2,
    email_esas: bool = True,
) -> Path:
    """A settings file reading the registry at ``esas``/``schools`` and keeping data and reports
    under ``root``; quick Google retries, pacing off unless ``requests_per_minute`` is set."""

    def emails(values: Sequence[str]) -> str:
        return "[" + ", ".join(f'"{value}"' for value in values) + "]"

    path.write_text(
        f"""
[registry]
esas = "{esas}"
schools = "{schools}"
[storage]
data_dir = "{root / "data"}"
report_dir = "{root / "report"}"
[connections]
google = "schoolnet_google"
warehouse = "schoolnet_warehouse"
smtp = "smtp_default"
[google]
request_timeout_seconds = {request_timeout_seconds}
max_attempts = {max_attempts}
backoff_base_seconds = 0.1
backoff_max_seconds = 0.2
read_requests_per_minute = {requests_per_minute}
write_requests_per_minute = {requests_per_minute}
[report]
timezone = "Asia/Bangkok"
mail_from = "schoolnet@obec.go.th"
to = ["ict-report@obec.go.th"]
cc = {emails(cc)}
operators = {emails(operators)}
stale_after_days = 2
[feedback]
write_tab = true
email_esas = {"true" if email_esas else "false"}
""",
        encoding="utf-8",
    )
    return path
