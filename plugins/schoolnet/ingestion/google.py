"""The HTTP session gspread talks through.

In production this is google-auth's ``AuthorizedSession`` for the service account. For the demo and
the tests it is a plain session that sends Google's API hosts to the local emulator, so gspread and
the rest of the pipeline run unchanged and never know they talk to an emulator.
"""

from __future__ import annotations

from typing import Any

import requests

GOOGLE_API_ORIGINS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
READ_SCOPES = (
    "https://www.googleapis.com/auth/spreadsheets.readonly",
    "https://www.googleapis.com/auth/drive.metadata.readonly",
)
WRITE_SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)


class EmulatorSession(requests.Session):
    """A requests session that rewrites Google API URLs to an emulator's base URL."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def rewrite(self, url: str) -> str:
        for origin in GOOGLE_API_ORIGINS:
            if url.startswith(origin + "/"):
                return self.base_url + url[len(origin) :]
        return url

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if isinstance(url, bytes):
            url = url.decode()
        return super().request(method, self.rewrite(url), *args, **kwargs)


def service_account_session(
    keyfile: dict[str, Any], scopes: tuple[str, ...] = READ_SCOPES
) -> requests.Session:
    """An authorized session for a Google service account key (the production path): read-only
    scopes for the pull, the spreadsheets scope only for writing feedback back."""
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2.service_account import Credentials

    credentials = Credentials.from_service_account_info(keyfile, scopes=list(scopes))
    return AuthorizedSession(credentials)
