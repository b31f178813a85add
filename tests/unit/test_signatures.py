import time

import pytest

from kobling_devkit.stripe_signing import sign, view_payload
from kobling_shared.signatures import BadSignature, verify_app_view, verify_webhook

SECRET = "whsec_test_secret"
BODY = b'{"id":"evt_1","type":"account.application.authorized"}'


def test_a_stripe_signature_passes() -> None:
    verify_webhook(BODY, sign(BODY, SECRET), SECRET)


def test_a_body_altered_after_signing_is_refused() -> None:
    header = sign(BODY, SECRET)
    with pytest.raises(BadSignature, match="does not match"):
        verify_webhook(BODY.replace(b"evt_1", b"evt_2"), header, SECRET)


def test_another_secret_is_refused() -> None:
    with pytest.raises(BadSignature, match="does not match"):
        verify_webhook(BODY, sign(BODY, "whsec_other"), SECRET)


def test_a_stale_timestamp_is_refused() -> None:
    header = sign(BODY, SECRET, timestamp=int(time.time()) - 301)
    with pytest.raises(BadSignature, match="too old"):
        verify_webhook(BODY, header, SECRET)


def test_a_missing_header_is_refused() -> None:
    with pytest.raises(BadSignature, match="missing"):
        verify_webhook(BODY, None, SECRET)


def test_a_garbled_header_is_refused() -> None:
    with pytest.raises(BadSignature):
        verify_webhook(BODY, "t=abc,v1=", SECRET)


def test_any_matching_v1_passes_during_a_secret_rotation() -> None:
    good = sign(BODY, SECRET)
    t, v1 = good.split(",")
    other = sign(BODY, "whsec_old").split(",")[1]
    verify_webhook(BODY, f"{t},{other},{v1}", SECRET)


def test_a_body_that_is_not_utf8_is_refused() -> None:
    body = b"\xff\xfe"
    with pytest.raises(BadSignature):
        verify_webhook(body, "t=1,v1=00", SECRET)


# What Stripe signs for fetchStripeSignature({livemode, action}), and the body the view sends.
VIEW = view_payload({"livemode": False, "action": "status"}, "usr_1", "acct_1")


def test_an_app_view_request_is_verified_over_the_bytes_stripe_signed() -> None:
    verify_app_view(VIEW.encode(), sign(VIEW, "absec_app"), "absec_app")


@pytest.mark.parametrize(
    "body",
    [
        view_payload({"livemode": False, "action": "status"}, "usr_2", "acct_1"),
        view_payload({"livemode": False, "action": "status"}, "usr_1", "acct_2"),
        view_payload({"livemode": True, "action": "status"}, "usr_1", "acct_1"),
        view_payload({"livemode": False, "action": "disconnect"}, "usr_1", "acct_1"),
        '{"user_id":"usr_1","account_id":"acct_1","livemode":false,"action":"status"}',
    ],
    ids=["other user", "other account", "other mode", "other action", "Kobling's old order"],
)
def test_an_app_view_signature_holds_for_nothing_but_the_body_signed(body: str) -> None:
    with pytest.raises(BadSignature, match="does not match"):
        verify_app_view(body.encode(), sign(VIEW, "absec_app"), "absec_app")
