"""The pages econ-auth shows a merchant itself: the confirmation before e-conomic, and what to
do when a link or a callback cannot be used, in the catalogue's words (kobling_shared.i18n)."""

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from kobling_shared.i18n import Words
from kobling_shared.pages import problem_page

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# confirm.html speaks the language of the locale it hands e-conomic: `words(locale)`.
templates.env.globals["words"] = Words

# Each page's title and message are `problem.<kind>.title` and `.message` in the catalogue.
PROBLEMS = (
    "other_browser",
    "link_invalid",
    "state_invalid",
    "token_invalid",
    "state_outdated",
    "cancelled",
    "no_state",
)


# The button under each page; "Try again" leads to the app in the Dashboard, where a signed
# request starts a new attempt (a callback URL alone must never mint a connect link).
ACTIONS = {"cancelled": "connection.try_again"}


def problem(
    request: Request, kind: str, dashboard_url: str, status_code: int = 400
) -> HTMLResponse:
    label = ACTIONS.get(kind, "action.open_dashboard")
    return problem_page(request, f"problem.{kind}", (label, dashboard_url), status_code=status_code)
