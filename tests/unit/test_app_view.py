"""The signed view request as the real Dashboard makes it: Stripe signs
`JSON.stringify({...payload, user_id, account_id})` and our view sends that string as the body, so
the backend verifies the bytes it received and only then reads them (docs/external-contracts.md)."""

import json
import time
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import HTTPException
from starlette.requests import Request

from kobling_devkit.merchant import view_body
from kobling_devkit.stripe_signing import sign, view_payload
from kobling_shared.app_view import AppViewRequest, verified_view
from kobling_shared.signatures import ViewAction

SECRET = "absec_unit"
USER, ACCOUNT = "usr_1", "acct_1"


def stripes(livemode: bool = False, action: str = "status") -> str:
    """The body of fetchStripeSignature({livemode, action}), as Stripe signs it."""
    return view_payload({"livemode": livemode, "action": action}, USER, ACCOUNT)


async def verify(
    body: str | bytes, signature: str | None, action: ViewAction = "status"
) -> AppViewRequest:
    raw = body.encode() if isinstance(body, str) else body
    headers = [(b"stripe-signature", signature.encode())] if signature else []
    app = SimpleNamespace(state=SimpleNamespace(settings=SimpleNamespace(stripe_app_secret=SECRET)))
    scope = {"type": "http", "method": "POST", "headers": headers, "app": app}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    return await verified_view(Request(scope, receive), action)


async def refused(body: str | bytes, signature: str | None, action: ViewAction = "status") -> Any:
    with pytest.raises(HTTPException) as caught:
        await verify(body, signature, action)
    return caught.value


def test_stripe_signs_the_payload_first_then_user_then_account() -> None:
    assert (
        stripes() == '{"livemode":false,"action":"status","user_id":"usr_1","account_id":"acct_1"}'
    )


@pytest.mark.parametrize("livemode", [False, True])
@pytest.mark.parametrize("action", ["status", "connect", "disconnect"])
async def test_a_request_signed_as_stripe_signs_it_passes(
    livemode: bool, action: ViewAction
) -> None:
    body = stripes(livemode, action)
    view = await verify(body, sign(body, SECRET), action)
    assert (view.user_id, view.account_id, view.livemode, view.action) == (
        USER,
        ACCOUNT,
        livemode,
        action,
    )


async def test_the_old_order_user_id_first_is_refused() -> None:
    """What Kobling used to rebuild and its sandbox used to sign; Stripe never signs it."""
    old = json.dumps(
        {"user_id": USER, "account_id": ACCOUNT, "livemode": False, "action": "status"},
        separators=(",", ":"),
    )
    # Stripe's body with a signature over the old order, and the old body with Stripe's signature.
    assert (await refused(stripes(), sign(old, SECRET))).status_code == 401
    assert (await refused(old, sign(stripes(), SECRET))).status_code == 401


async def test_the_raw_bytes_are_verified_never_a_reserialisation() -> None:
    """The same JSON with other spacing is another body: Stripe did not sign it."""
    spaced = json.dumps(json.loads(stripes()))
    assert json.loads(spaced) == json.loads(stripes()) and spaced != stripes()
    error = await refused(spaced, sign(stripes(), SECRET))
    assert (error.status_code, error.detail) == (401, "signature does not match")


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "missing Stripe-Signature header"),
        ("t=1,v1=00", "signature does not match"),
        ("garbage", "signature does not match"),
    ],
)
async def test_an_unsigned_or_badly_signed_request_is_a_401(
    signature: str | None, reason: str
) -> None:
    error = await refused(stripes(), signature)
    assert (error.status_code, error.detail) == (401, reason)


async def test_a_signature_too_old_or_dated_ahead_is_refused() -> None:
    now = int(time.time())
    stale = await refused(stripes(), sign(stripes(), SECRET, now - 301))
    ahead = await refused(stripes(), sign(stripes(), SECRET, now + 600))
    assert [stale.status_code, ahead.status_code] == [401, 401]
    assert "too old" in stale.detail and "future" in ahead.detail


async def test_another_secret_is_refused() -> None:
    assert (await refused(stripes(), sign(stripes(), "absec_other"))).status_code == 401


async def test_a_body_that_is_not_utf8_is_refused() -> None:
    assert (await refused(b"\xff\xfe", "t=1,v1=00")).status_code == 401


@pytest.mark.parametrize("endpoint", ["connect", "disconnect"])
async def test_a_status_signature_does_nothing_at_another_endpoint(endpoint: ViewAction) -> None:
    error = await refused(stripes(), sign(stripes(), SECRET), endpoint)
    assert error.status_code == 401
    assert "status" in error.detail and endpoint in error.detail


SIGNED_BUT_MALFORMED = {
    "an extra field": view_payload(
        {"livemode": False, "action": "status", "admin": True}, USER, ACCOUNT
    ),
    "no livemode": view_payload({"action": "status"}, USER, ACCOUNT),
    "no action": view_payload({"livemode": False}, USER, ACCOUNT),
    "livemode a string": view_payload({"livemode": "false", "action": "status"}, USER, ACCOUNT),
    "livemode a number": view_payload({"livemode": 0, "action": "status"}, USER, ACCOUNT),
    "an unknown action": view_payload({"livemode": False, "action": "delete"}, USER, ACCOUNT),
    "an account of another form": view_payload(
        {"livemode": False, "action": "status"}, USER, "acct_../x"
    ),
    "an empty user": view_payload({"livemode": False, "action": "status"}, "", ACCOUNT),
    "a field twice": '{"livemode":false,"action":"status","user_id":"usr_1","account_id":"acct_1",'
    '"livemode":true}',
    "not an object": '["livemode",false]',
    "not JSON": "livemode=false",
}


@pytest.mark.parametrize("body", SIGNED_BUT_MALFORMED.values(), ids=SIGNED_BUT_MALFORMED)
async def test_a_signed_body_of_the_wrong_shape_is_a_400(body: str) -> None:
    """Signed, so it came through Stripe, but not what our view sends: nothing is read from it."""
    error = await refused(body, sign(body, SECRET))
    assert error.status_code == 400
    assert "livemode" in error.detail and "account_id" in error.detail


async def test_a_signed_request_has_one_id_however_its_header_is_dressed() -> None:
    """econ-auth spends connect and disconnect by this id: extra or reordered v1 entries must
    not make a replay look new, and only a new signature (a new timestamp) is."""
    body, now = stripes(action="connect"), int(time.time())
    header = sign(body, SECRET, now)
    t, v1 = header.split(",")
    padded = f"{t},v1={'0' * 64},{v1}"
    ids = [(await verify(body, h, "connect")).signature_id for h in (header, padded)]
    later = (await verify(body, sign(body, SECRET, now + 1), "connect")).signature_id
    assert ids[0] == ids[1] and len(ids[0]) == 64 and later != ids[0]


async def test_two_clicks_within_one_second_are_two_requests() -> None:
    """Stripe dates a signature in whole seconds: the view's nonce is what tells a merchant's
    second click (Try again, right after a cancel) from a replay of the first. Without it both
    had one id, and econ-auth refused the second click as spent (the e2e journey saw it)."""
    now = int(time.time())
    first, second = (view_body(ACCOUNT, "connect", user=USER) for _ in range(2))
    ids = [(await verify(b, sign(b, SECRET, now), "connect")).signature_id for b in (first, second)]
    assert ids[0] != ids[1]
    assert list(json.loads(first)) == ["livemode", "action", "nonce", "user_id", "account_id"]


@pytest.mark.parametrize("nonce", ["", "ABCDEF" * 6, "0" * 31, "g" * 32, 42])
async def test_a_nonce_not_shaped_as_the_view_makes_it_is_a_400(nonce: Any) -> None:
    body = view_payload({"livemode": False, "action": "connect", "nonce": nonce}, USER, ACCOUNT)
    assert (await refused(body, sign(body, SECRET), "connect")).status_code == 400
