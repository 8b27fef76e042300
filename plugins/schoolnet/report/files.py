"""The report's files: the email (CSS inlined, charts as CID images, plain-text part), the full
PDF and the XLSX of the day's data, kept in the report folder between rendering and sending.

Rendering and sending are separate Airflow tasks, so a failed send is retried from these files
without reading the warehouse or Google again; ``manifest.json`` says what each file is.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import css_inline
from sqlalchemy import Connection

from schoolnet.core.files import GROUP_READABLE, write_atomically
from schoolnet.core.message import Attachment, InlineImage, RenderedEmail
from schoolnet.report.daily import MOENET_END, DailyReport, render_report, template_environment

MANIFEST = "manifest.json"
ESA_CHART_COUNT = 15  # ESAs in the chart of the largest shares still unconnected
# Gmail shows "[Message clipped]" and hides the rest of an HTML part over 102 KB; stay under it.
GMAIL_CLIP_BYTES = 102_000
MIN_LIST_LIMIT = 5

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChartRef:
    """How a template shows a chart: ``src`` is ``cid:…`` in the email, ``data:…`` in the PDF."""

    src: str
    alt: str


def chart_cid(name: str, report_date: date) -> str:
    return f"{name}.{report_date.isoformat()}@schoolnet"


def report_charts(report: DailyReport) -> dict[str, Any]:
    from schoolnet.report.charts import esa_gap_chart, progress_chart
    from schoolnet.report.provincemap import province_map

    points = [(point.report_date, point.connected) for point in report.trend]
    worst = [
        (line.esa_name, line.unconnected, line.schools)
        for line in report.esas[:ESA_CHART_COUNT]
        if line.schools
    ]
    charts = {
        "progress": progress_chart(points, report.national.schools, report.report_date),
        "gap": esa_gap_chart(worst),
    }
    if report.provinces:  # a day without schools has no map to draw
        charts["map"] = province_map(report.provinces, report.report_date)
    return charts


def pdf_html(report: DailyReport, charts: Mapping[str, Any]) -> str:
    """The PDF's HTML: every list in full, charts as ``data:`` URIs, the print page box."""
    from schoolnet.report.pdf import PRINT_PAGE_CSS

    pdf_charts = {
        name: ChartRef(
            src="data:image/png;base64," + base64.b64encode(chart.png).decode("ascii"),
            alt=chart.alt,
        )
        for name, chart in charts.items()
    }
    return (
        template_environment()
        .get_template("report_pdf.html.j2")
        .render(
            report=report,
            charts=pdf_charts,
            moenet_end=MOENET_END,
            limit=None,
            page_css=PRINT_PAGE_CSS,
        )
    )


def inline_css(html: str) -> str:
    """Move the <style> rules into style attributes: Gmail and Outlook drop or ignore much of
    a <style> block. No remote stylesheet is ever loaded."""
    inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
    return inliner.inline(html)


def fitted_email(
    report: DailyReport,
    charts: Mapping[str, Any],
    list_limit: int,
    max_html_bytes: int = GMAIL_CLIP_BYTES,
) -> RenderedEmail:
    """The email's parts with the CSS inlined, its lists shortened (never under
    ``MIN_LIST_LIMIT`` rows) until the HTML fits ``max_html_bytes``: a clipped report hides
    its last sections behind a link most readers never tap."""
    limit = list_limit
    while True:
        rendered = render_report(report, charts=charts, list_limit=limit)
        html = inline_css(rendered.html)
        size = len(html.encode("utf-8"))
        if size <= max_html_bytes or limit <= MIN_LIST_LIMIT:
            if limit < list_limit:
                log.warning(
                    "report email lists cut from %d to %d rows to keep the HTML under %d bytes "
                    "(now %d); the PDF and XLSX hold every row",
                    list_limit,
                    limit,
                    max_html_bytes,
                    size,
                )
            return RenderedEmail(subject=rendered.subject, html=html, text=rendered.text)
        limit = max(MIN_LIST_LIMIT, limit * 2 // 3)


def render_files(conn: Connection, report: DailyReport, *, list_limit: int = 20) -> RenderedEmail:
    """The morning email with everything it carries, rendered from ``report`` (and, for the
    XLSX, the day's rows in the warehouse behind ``conn``)."""
    from schoolnet.report.pdf_process import PdfProcess
    from schoolnet.report.workbook import MEDIA_TYPE, build_report_workbook, workbook_filename

    day = report.report_date
    # The PDF renders in a process of its own while this one writes the email and the workbook.
    with PdfProcess() as pdf_process:
        charts = report_charts(report)
        pdf = pdf_process.render(pdf_html(report, charts))
        email_charts = {
            name: ChartRef(src=f"cid:{chart_cid(name, day)}", alt=chart.alt)
            for name, chart in charts.items()
        }
        rendered = fitted_email(report, email_charts, list_limit)
        workbook = build_report_workbook(conn, day)
        pdf_bytes = pdf.result()
    return RenderedEmail(
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        images=tuple(
            InlineImage(cid=chart_cid(name, day), filename=f"{name}.png", content=chart.png)
            for name, chart in charts.items()
        ),
        attachments=(
            Attachment(f"schoolnet-report-{day.isoformat()}.pdf", pdf_bytes, "application", "pdf"),
            Attachment(workbook_filename(day), workbook, *MEDIA_TYPE.split("/")),
        ),
    )


def save_files(email: RenderedEmail, folder: Path) -> Path:
    """Write the email's files and, last, the manifest that makes them one rendered report."""
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / "report.html", email.html, mode=GROUP_READABLE)
    write_atomically(folder / "report.txt", email.text, mode=GROUP_READABLE)
    for image in email.images:
        write_atomically(folder / image.filename, image.content, mode=GROUP_READABLE)
    for attachment in email.attachments:
        write_atomically(folder / attachment.filename, attachment.content, mode=GROUP_READABLE)
    manifest = {
        "subject": email.subject,
        "html": "report.html",
        "text": "report.txt",
        "images": [
            {"cid": image.cid, "file": image.filename, "subtype": image.subtype}
            for image in email.images
        ],
        "attachments": [
            {"file": item.filename, "maintype": item.maintype, "subtype": item.subtype}
            for item in email.attachments
        ],
    }
    write_atomically(
        folder / MANIFEST,
        json.dumps(manifest, ensure_ascii=False, indent=2),
        mode=GROUP_READABLE,
    )
    return folder / MANIFEST


class ReportNotRendered(FileNotFoundError):
    """The report folder has no complete rendered report to send."""


def load_email(folder: Path) -> RenderedEmail:
    """The email as ``save_files`` left it, ready to send again."""
    try:
        manifest: Mapping[str, Any] = json.loads((folder / MANIFEST).read_text("utf-8"))
    except FileNotFoundError as error:
        raise ReportNotRendered(
            f"no rendered report in {folder}: run the render_report task for this date first"
        ) from error
    return RenderedEmail(
        subject=manifest["subject"],
        html=(folder / manifest["html"]).read_text("utf-8"),
        text=(folder / manifest["text"]).read_text("utf-8"),
        images=tuple(
            InlineImage(
                cid=item["cid"],
                filename=item["file"],
                content=(folder / item["file"]).read_bytes(),
                subtype=item["subtype"],
            )
            for item in manifest["images"]
        ),
        attachments=tuple(
            Attachment(
                filename=item["file"],
                content=(folder / item["file"]).read_bytes(),
                maintype=item["maintype"],
                subtype=item["subtype"],
            )
            for item in manifest["attachments"]
        ),
    )
