"""Which endpoint signed a webhook: the live one's secrets, the test one's, several during a roll."""

import time

import pytest

from kobling_devkit.stripe_signing import sign
from kobling_shared.settings import secret_list
from kobling_shared.signatures import BadSignature, signing_endpoint, verify_webhook

BODY = b'{"id":"evt_1","type":"account.application.authorized"}'
LIVE = secret_list("whsec_new, whsec_old")
TEST = secret_list("whsec_test")


def test_a_secret_list_is_its_items_in_order() -> None:
    assert LIVE == ("whsec_new", "whsec_old")
    assert secret_list(" , ") == ()


def test_either_secret_of_a_roll_verifies() -> None:
    for secret in LIVE:
        assert signing_endpoint(BODY, sign(BODY, secret), LIVE, TEST) == "live"


def test_the_test_secret_says_test_and_a_stranger_s_says_nothing() -> None:
    assert signing_endpoint(BODY, sign(BODY, "whsec_test"), LIVE, TEST) == "test"
    with pytest.raises(BadSignature, match="does not match"):
        signing_endpoint(BODY, sign(BODY, "whsec_attacker"), LIVE, TEST)


def test_a_stale_signature_says_too_old_whichever_secret_made_it() -> None:
    stale = sign(BODY, "whsec_test", int(time.time()) - 600)
    with pytest.raises(BadSignature, match="too old"):
        signing_endpoint(BODY, stale, LIVE, TEST)


def test_one_secret_is_not_taken_for_a_list_of_letters() -> None:
    with pytest.raises(BadSignature):
        verify_webhook(BODY, sign(BODY, "w"), "whsec_x")
