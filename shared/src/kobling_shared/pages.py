"""The plain page a service shows a merchant when something cannot go on: what happened, and
the one thing to do next."""

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

_templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def problem_page(
    request: Request,
    title: str,
    message: str,
    action: tuple[str, str] | None = None,
    status_code: int = 400,
) -> HTMLResponse:
    """`action` is (label, url); the url must be one of our public URLs or Stripe's Dashboard."""
    context = {
        "lang": "en",
        "title": title,
        "message": message,
        "action_label": action[0] if action else None,
        "action_url": action[1] if action else None,
    }
    return _templates.TemplateResponse(request, "problem.html", context, status_code=status_code)
