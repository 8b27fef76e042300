"""Each ESA's feedback email: its findings (or one line saying all was accepted, or why its
sheet could not be read), under its standing, rendered from ``templates/esa_feedback.*.j2``."""

from __future__ import annotations

from schoolnet.core.message import RenderedEmail
from schoolnet.report.daily import template_environment
from schoolnet.report.standing import EsaStanding
from schoolnet.validation.feedback import EsaFeedback


def render_esa_feedback_email(
    feedback: EsaFeedback, sheet_url: str, standing: EsaStanding | None
) -> RenderedEmail:
    """The ESA's email of the day: HTML and plain text, with the feedback's subject."""
    environment = template_environment()
    context = {"feedback": feedback, "sheet_url": sheet_url, "standing": standing}
    return RenderedEmail(
        subject=feedback.subject,
        html=environment.get_template("esa_feedback.html.j2").render(context),
        text=environment.get_template("esa_feedback.txt.j2").render(context),
    )
