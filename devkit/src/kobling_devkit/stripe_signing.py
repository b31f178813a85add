"""Signs payloads the way Stripe does (t=<unix>,v1=<hex HMAC-SHA256 of "t.body">), for tests."""

import hashlib
import hmac
import json
import time
import uuid
from typing import Any


def sign(payload: str | bytes, secret: str, timestamp: int | None = None) -> str:
    body = payload.decode() if isinstance(payload, bytes) else payload
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def view_payload(extra: dict[str, Any], user: str, account: str) -> str:
    """What Stripe signs for fetchStripeSignature(extra), and what our view sends as the body:
    JavaScript's JSON.stringify({...extra, user_id, account_id}), the payload's fields first
    (docs/external-contracts.md, "The signed view request")."""
    fields = {**extra, "user_id": user, "account_id": account}
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def install_event(
    account: str,
    livemode: bool = False,
    kind: str = "account.application.authorized",
    created: int | None = None,
    event_id: str | None = None,
    app: str | None = None,
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": kind,
        "livemode": livemode,
        "account": account,
        "created": created if created is not None else int(time.time()),
        "api_version": "2026-09-30.endive",
        "data": {"object": install_object(account, livemode, kind, app)},
    }


# Our app, as the development settings name it (STRIPE_APPLICATION_IDS).
APPLICATION, APP = "ca_kobling_dev", "app_kobling_dev"


def install_object(
    account: str, livemode: bool, kind: str, app: str | None = None
) -> dict[str, Any]:
    """What Stripe's event is about: the application (account.application.*) or the install
    (apps.install.*), of our app unless `app` names another. Stripe sends apps.install.* to the
    developer's own endpoint, never to install's Connect endpoint: they are built only to show
    that install ignores one that reaches it anyway (docs/external-contracts.md S9)."""
    if kind.startswith("apps.install"):
        return {
            "id": f"appinst_{uuid.uuid4().hex[:16]}",
            "object": "apps.install",
            "account": account,
            "app": app or APP,
            "livemode": livemode,
        }
    return {"id": app or APPLICATION, "object": "application", "name": "Kobling"}


def body_of(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


def new_account() -> str:
    return "acct_" + uuid.uuid4().hex[:16]
