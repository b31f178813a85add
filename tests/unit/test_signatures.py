import time

import pytest

from kobling_shared.signatures import (
    BadSignature,
    ViewAction,
    app_view_payload,
    verify_app_view,
    verify_webhook,
)
from tests.stripe_signing import sign

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


def test_the_app_view_payload_is_compact_json_in_key_order() -> None:
    # Stripe signs user_id and account_id, then what the view passed to fetchStripeSignature.
    assert (
        app_view_payload("usr_1", "acct_1", False, "status")
        == '{"user_id":"usr_1","account_id":"acct_1","livemode":false,"action":"status"}'
    )


def test_an_app_view_request_is_verified_against_the_rebuilt_payload() -> None:
    header = sign(app_view_payload("usr_1", "acct_1", False, "status"), "absec_app")
    verify_app_view("usr_1", "acct_1", False, "status", header, "absec_app")


@pytest.mark.parametrize(
    ("user", "account", "livemode", "action"),
    [
        ("usr_2", "acct_1", False, "status"),
        ("usr_1", "acct_2", False, "status"),
        ("usr_1", "acct_1", True, "status"),
        ("usr_1", "acct_1", False, "disconnect"),
    ],
    ids=["other user", "other account", "other mode", "other action"],
)
def test_an_app_view_signature_holds_for_nothing_but_what_was_signed(
    user: str, account: str, livemode: bool, action: ViewAction
) -> None:
    header = sign(app_view_payload("usr_1", "acct_1", False, "status"), "absec_app")
    with pytest.raises(BadSignature, match="does not match"):
        verify_app_view(user, account, livemode, action, header, "absec_app")
