"""The pages econ-auth shows a merchant itself: when a link or a callback cannot be used."""

from fastapi import Request
from fastapi.responses import HTMLResponse

from kobling_shared.pages import problem_page

PROBLEMS = {
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
    "no_state": (
        "Start from your Stripe Dashboard",
        "e-conomic sent you here without telling us which Stripe account to connect, so nothing "
        "was connected. Open the Kobling app in your Stripe Dashboard and press “Connect "
        "e-conomic”: we will take you to e-conomic and back.",
    ),
}


def problem(request: Request, kind: str, dashboard_url: str) -> HTMLResponse:
    title, message = PROBLEMS[kind]
    return problem_page(request, title, message, ("Open the Stripe Dashboard", dashboard_url))
