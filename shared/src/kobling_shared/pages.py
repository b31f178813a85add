"""The plain page a service shows a merchant when something cannot go on: what happened, and
the one thing to do next, in the browser's language."""

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from kobling_shared.i18n import Words, language

_templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def problem_page(
    request: Request,
    problem: str,
    action: tuple[str, str] | None = None,
    status_code: int = 400,
    locale: str | None = None,
) -> HTMLResponse:
    """`problem` names the page's words in the catalogue (`<problem>.title`, `<problem>.message`);
    `action` is (the label's key, url), the url one of our public URLs or Stripe's Dashboard.
    The language is the page's own `locale` if it has one, else the browser's."""
    words = Words(language(locale, request.headers.get("accept-language")))
    context = {
        "lang": words.lang,
        "title": words(f"{problem}.title"),
        "message": words(f"{problem}.message"),
        "action_label": words(action[0]) if action else None,
        "action_url": action[1] if action else None,
    }
    return _templates.TemplateResponse(request, "problem.html", context, status_code=status_code)
