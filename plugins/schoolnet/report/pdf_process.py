"""The report's PDF rendered in a Python process of its own, beside the workbook.

WeasyPrint and openpyxl are both CPU-bound pure Python: in one process they take turns on the
GIL, so the PDF and the XLSX of the national report cost the sum of their times. Here the PDF
runs in a child interpreter (``python -m schoolnet.report.pdf_process``: HTML on stdin, PDF on
stdout) on the second core while the caller writes the workbook. The child is started before
its HTML is ready, so importing WeasyPrint and reading the fonts overlap the charts.

A child process rather than ``multiprocessing``: a spawned multiprocessing worker imports the
caller's ``__main__`` again (in an Airflow task, Airflow itself), and a forked one inherits the
task's open sockets and locks. This child imports only this module and its PDF engine.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

LOG = logging.getLogger(__name__)

# The folder that holds the ``schoolnet`` package, so the child imports the same code.
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class PdfProcessError(RuntimeError):
    """The PDF process failed; its message ends with what the process wrote to stderr."""


class PdfProcess:
    """One HTML → PDF render (:func:`schoolnet.report.pdf.html_to_pdf`) in a child process.

    Use as a context manager: ``render(html)`` returns a future of the PDF's bytes; leaving the
    block ends the child if it is still running (the caller failed first).
    """

    def __init__(self) -> None:
        # The package's folder first, then every folder the caller imports from (Airflow puts
        # its plugins folder on sys.path, not on PYTHONPATH), once each.
        python_path = os.pathsep.join(dict.fromkeys([str(_PACKAGE_ROOT), *filter(None, sys.path)]))
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": python_path},
        )
        # communicate() blocks until the child ends: a thread waits for it, not the caller.
        self._waiter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf-process")
        self._result: Future[bytes] | None = None

    def render(self, html: str) -> Future[bytes]:
        """The PDF of ``html`` (the report's own HTML: charts inline, no other resources)."""
        if self._result is not None:
            raise RuntimeError("a PdfProcess renders one document")
        self._result = self._waiter.submit(self._communicate, html.encode("utf-8"))
        return self._result

    def _communicate(self, html: bytes) -> bytes:
        pdf, errors = self._process.communicate(html)
        messages = errors.decode("utf-8", "replace").strip()
        if self._process.returncode != 0 or not pdf.startswith(b"%PDF-"):
            raise PdfProcessError(
                f"the PDF process ended with code {self._process.returncode}: {messages[-2000:]}"
            )
        for line in messages.splitlines():  # WeasyPrint's warnings, as html_to_pdf logs them
            LOG.warning("PDF: %s", line)
        return pdf

    def close(self) -> None:
        if self._process.poll() is None and (self._result is None or not self._result.done()):
            self._process.kill()
        if self._result is None:  # nobody will communicate(): close the pipes here
            self._process.communicate()
        self._waiter.shutdown(wait=True)
        self._process.wait()

    def __enter__(self) -> PdfProcess:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def main() -> int:
    """The child: import the PDF engine and read the fonts, then HTML from stdin → PDF."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    output = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but the PDF goes to the parent's pipe
    from schoolnet.report.pdf import html_to_pdf, warm_up

    warm_up()
    html = sys.stdin.buffer.read().decode("utf-8")
    output.write(html_to_pdf(html))
    output.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
