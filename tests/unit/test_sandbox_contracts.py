"""The sandbox's e-conomic behaves as integrators observe the real one (docs/external-contracts.md)."""

import json

from kobling_sandbox.config import settings
from kobling_sandbox.economic import with_token
from kobling_sandbox.stripe import _view_request
from kobling_shared.signatures import verify_app_view


def test_the_grant_page_appends_token_with_a_question_mark_or_an_ampersand() -> None:
    assert with_token("http://a.test/economic/callback/St4te", "T0k") == (
        "http://a.test/economic/callback/St4te?token=T0k"
    )
    assert with_token("http://a.test/settings?page=economic&tab=1", "T0k") == (
        "http://a.test/settings?page=economic&tab=1&token=T0k"
    )


def test_the_dashboard_signs_view_requests_as_stripe_does() -> None:
    """Stripe signs `{...payload, user_id, account_id}` and the view sends that string (the
    payload of a connect carries the view's nonce)."""
    sent = _view_request("acct_1", False, "connect")
    nonce = json.loads(sent["content"])["nonce"]
    assert sent["content"] == (
        b'{"livemode":false,"action":"connect","nonce":"%s","user_id":"usr_sandbox",'
        b'"account_id":"acct_1"}' % nonce.encode()
    )
    assert _view_request("acct_1", False, "status")["content"] == (
        b'{"livemode":false,"action":"status","user_id":"usr_sandbox","account_id":"acct_1"}'
    )
    secret = settings().stripe_app_secret
    verify_app_view(sent["content"], sent["headers"]["Stripe-Signature"], secret)
