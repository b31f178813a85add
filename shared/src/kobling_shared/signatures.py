"""Stripe's signature scheme, for webhooks and for requests from our app's Dashboard view."""

import json
import time
from typing import Literal

import stripe

TOLERANCE_SECONDS = 300


class BadSignature(Exception):
    """The request is not provably from Stripe; the message is safe to show to the caller."""


def verify_webhook(raw_body: bytes, header: str | None, secret: str) -> None:
    """Checks `Stripe-Signature` over the raw body; raises BadSignature.

    `verify_header` rather than `Webhook.construct_event`: the latter also builds a StripeObject
    we do not use (about 100 µs against 8 µs), and its tolerance is the same 300 s we pass here.
    """
    try:
        payload = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadSignature("body is not UTF-8") from None
    _refuse_future(header)
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as error:
        raise BadSignature(_reason(error)) from None


def _refuse_future(header: str | None) -> None:
    """The SDK refuses a timestamp older than the tolerance but any later one, so a signature
    dated ahead would stay replayable until then: the same window applies both ways."""
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit() and int(value) > time.time() + TOLERANCE_SECONDS:
            raise BadSignature("signature timestamp is in the future")


# What a Dashboard view request may ask for; each backend endpoint takes exactly one.
ViewAction = Literal["status", "connect", "disconnect"]


def app_view_payload(user_id: str, account_id: str, livemode: bool, action: ViewAction) -> str:
    """The exact string the Dashboard view's signature covers: Stripe signs user_id and account_id
    followed by the fields the view passed to fetchStripeSignature({livemode, action}), as
    compact JSON in that order (README: "The signed view request")."""
    fields = {"user_id": user_id, "account_id": account_id, "livemode": livemode, "action": action}
    return json.dumps(fields, separators=(",", ":"))


def verify_app_view(
    user_id: str,
    account_id: str,
    livemode: bool,
    action: ViewAction,
    header: str | None,
    secret: str,
) -> None:
    """Checks the signature the UI extension got from fetchStripeSignature()."""
    _refuse_future(header)
    payload = app_view_payload(user_id, account_id, livemode, action)
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as error:
        raise BadSignature(_reason(error)) from None


def _reason(error: stripe.SignatureVerificationError) -> str:
    # The SDK's message names what failed without echoing the header or body.
    message = str(error.user_message or error)
    if "tolerance" in message:
        return "signature timestamp is too old"
    if "No Stripe-Signature" in message:
        return "missing Stripe-Signature header"
    return "signature does not match"
