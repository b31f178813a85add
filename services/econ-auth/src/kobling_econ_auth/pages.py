"""The pages econ-auth shows a merchant itself: the confirmation before e-conomic, and what to
do when a link or a callback cannot be used."""

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from kobling_shared.pages import problem_page

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

PROBLEMS = {
    "other_browser": (
        "Start again from your Stripe Dashboard",
        "This connection was started in another browser, so nothing was connected. If you "
        "want to connect e-conomic, open the Kobling app in your own Stripe Dashboard and "
        "press “Connect e-conomic” there. If someone sent you this link, do not use it.",
    ),
    "link_invalid": (
        "This link can't be used",
        "It has expired or was already used. Go back to the Kobling app in your Stripe Dashboard "
        "and press “Connect e-conomic” again.",
    ),
    "state_invalid": (
        "We couldn't finish connecting e-conomic",
        "This sign-in has expired or was already used, so nothing was connected. Go back to the "
        "Kobling app in your Stripe Dashboard and press “Connect e-conomic” again.",
    ),
    "token_invalid": (
        "We couldn't finish connecting e-conomic",
        "What came back from e-conomic was not a grant we can use, so nothing was connected. Go "
        "back to the Kobling app in your Stripe Dashboard and press “Connect e-conomic” again.",
    ),
    "state_outdated": (
        "We couldn't finish connecting e-conomic",
        "This sign-in was started before an update of Kobling, so nothing was connected. Go back "
        "to the Kobling app in your Stripe Dashboard and press “Connect e-conomic” again.",
    ),
    "cancelled": (
        "You cancelled connecting e-conomic",
        "Nothing was connected and nothing changed. When you are ready, try again from the "
        "Kobling app in your Stripe Dashboard.",
    ),
    "no_state": (
        "Start from your Stripe Dashboard",
        "e-conomic sent you here without telling us which Stripe account to connect, so nothing "
        "was connected. Open the Kobling app in your Stripe Dashboard and press “Connect "
        "e-conomic”: we will take you to e-conomic and back.",
    ),
}


# The button under each page; "Try again" leads to the app in the Dashboard, where a signed
# request starts a new attempt (a callback URL alone must never mint a connect link).
ACTIONS = {"cancelled": "Try again"}


def problem(
    request: Request, kind: str, dashboard_url: str, status_code: int = 400
) -> HTMLResponse:
    title, message = PROBLEMS[kind]
    label = ACTIONS.get(kind, "Open the Stripe Dashboard")
    return problem_page(request, title, message, (label, dashboard_url), status_code=status_code)
