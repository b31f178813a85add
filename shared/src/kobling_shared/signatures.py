"""Stripe's signature scheme, for webhooks and for requests from our app's Dashboard view."""

import hashlib
import time
from collections.abc import Sequence
from typing import Literal

# Imported once: `stripe.<name>` is a lazy module attribute that runs import_module on every
# access, a few microseconds a webhook.
from stripe import SignatureVerificationError, WebhookSignature

TOLERANCE_SECONDS = 300


class BadSignature(Exception):
    """The request is not provably from Stripe; the message is safe to show to the caller."""


Endpoint = Literal["live", "test"]


def verify_webhook(raw_body: bytes, header: str | None, secrets: Sequence[str]) -> None:
    """Checks `Stripe-Signature` over the raw body with each of an endpoint's secrets (more than
    one during a roll); raises BadSignature when none holds.

    `verify_header` rather than `Webhook.construct_event`: the latter also builds a StripeObject
    we do not use (about 100 µs against 8 µs), and its tolerance is the same 300 s we pass here.
    """
    try:
        payload = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadSignature("body is not UTF-8") from None
    _refuse_future(header)
    if isinstance(secrets, str):  # one secret, not a sequence of one-letter secrets
        secrets = (secrets,)
    reasons = []
    for secret in secrets:
        try:
            WebhookSignature.verify_header(payload, header, secret, tolerance=TOLERANCE_SECONDS)
        except SignatureVerificationError as error:
            reasons.append(_reason(error))
        else:
            return
    # The right secret over a stale timestamp says "too old"; the others only "no match".
    raise BadSignature(min(reasons, key=_rank, default="signature does not match"))


def signing_endpoint(
    raw_body: bytes, header: str | None, live: Sequence[str], test: Sequence[str]
) -> Endpoint:
    """Which of our two webhook endpoints signed this delivery. A live endpoint receives test
    events too, so only "test" narrows what the event may be: it must not be a live one."""
    try:
        verify_webhook(raw_body, header, live)
    except BadSignature as live_failed:
        try:
            verify_webhook(raw_body, header, test)
        except BadSignature as test_failed:
            raise min(live_failed, test_failed, key=lambda e: _rank(str(e))) from None
        return "test"
    return "live"


def _refuse_future(header: str | None) -> None:
    """The SDK refuses a timestamp older than the tolerance but any later one, so a signature
    dated ahead would stay replayable until then: the same window applies both ways."""
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit() and int(value) > time.time() + TOLERANCE_SECONDS:
            raise BadSignature("signature timestamp is in the future")


# What a Dashboard view request may ask for; each backend endpoint takes exactly one.
ViewAction = Literal[
    "status",
    "connect",
    "disconnect",
    # sync's (issue 25): read and save the settings, an object's state, Replay, the summary.
    "sync_settings",
    "save_sync_settings",
    "sync_state",
    "replay",
    "sync_summary",
    # Answers to a request to join an e-conomic company (issue 23, item 6).
    "approve_join",
    "refuse_join",
    "cancel_join",
]
# The actions that answer another account's request to join this one's e-conomic company: their
# payload names it (`waiting_account`, `waiting_livemode`), so the signature covers whose.
ANSWERS: tuple[ViewAction, ...] = ("approve_join", "refuse_join")


def verify_app_view(raw_body: bytes, header: str | None, secret: str) -> None:
    """Checks the signature the UI extension got from fetchStripeSignature() over the body
    exactly as it arrived: Stripe signs `JSON.stringify({...payload, user_id, account_id})` and
    the view sends that string, so the bytes are the proof and nothing is rebuilt. The scheme
    is the webhooks' own, keyed with the app signing secret (README: "The signed view
    request")."""
    verify_webhook(raw_body, header, (secret,))


def signed_request_id(raw_body: bytes, header: str) -> str:
    """One name for a verified signed request, to spend it once: the SHA-256 of `<t>.<body>`,
    what the signature covers, with the `t=` stripe-python verified (the first). Not the
    header's text: a replay could add, drop or reorder `v1=` entries and still pass."""
    items = [item.split("=", 2) for item in header.split(",")]
    timestamp = next(item[1] for item in items if item[0] == "t" and len(item) > 1)
    return hashlib.sha256(timestamp.encode() + b"." + raw_body).hexdigest()


# The most telling reason first, when several secrets each failed for their own.
_REASONS = (
    "missing Stripe-Signature header",
    "signature timestamp is too old",
    "signature does not match",
)


def _rank(reason: str) -> int:
    return _REASONS.index(reason) if reason in _REASONS else -1


def _reason(error: SignatureVerificationError) -> str:
    # The SDK's message names what failed without echoing the header or body.
    message = str(error.user_message or error)
    if "tolerance" in message:
        return "signature timestamp is too old"
    if "No Stripe-Signature" in message:
        return "missing Stripe-Signature header"
    return "signature does not match"
