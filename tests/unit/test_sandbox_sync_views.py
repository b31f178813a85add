"""The sandbox's Dashboard plays our app's sync views (issue 25): the invoice page's panel and the
sync settings page show what the app's InvoiceSync and SyncSettings views show, from sync's
answer to the view's request, which the sandbox signs as Stripe does. sync here answers from
stripe-app/test/fixtures/backend.json, what sync's own routes answered (stripe_app_sync_answers)."""

import html
import json
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from kobling_devkit.stripe_signing import view_payload
from kobling_sandbox import stripe, stripe_sync_settings, stripe_view_sync
from kobling_sandbox.app import create_app
from kobling_sandbox.config import settings
from kobling_shared.app_view import AppViewRequest
from kobling_shared.signatures import BadSignature, verify_app_view
from tests.in_process import client_of

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = json.loads((ROOT / "stripe-app/test/fixtures/backend.json").read_text())["sync"]
ACTIONS = {path: action for action, path in stripe_view_sync.PATHS.items()}
USER = stripe.DASHBOARD_USER
ACCOUNT_LABELS = [
    "1010 · Salg m/moms",
    "3620 · Gebyrer",
    "3640 · Kursdifferencer",
    "5820 · Bank",
    "5830 · Stripe (mellemregning)",
    "5840 · Afventende poster",
]


@dataclass
class FakeSync:
    """sync's view endpoints: each request must carry Stripe's signature over its bytes and be
    a body sync takes for that path's action; it answers what the test set for the path."""

    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    down: bool = False
    sent: list[tuple[str, bytes]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        raw = request.content
        self.sent.append((request.url.path, raw))
        try:
            verify_app_view(raw, request.headers.get("stripe-signature"), secret())
            body = AppViewRequest.model_validate(json.loads(raw))
        except (BadSignature, ValueError) as why:
            self.refused.append(f"{request.url.path}: {why}")
            return httpx.Response(401, json={"detail": str(why)})
        if body.action != ACTIONS.get(request.url.path):
            self.refused.append(f"{request.url.path}: signed for {body.action}")
            return httpx.Response(401, json={"detail": "wrong action"})
        answer = self.answers[request.url.path]
        return httpx.Response(answer["status"], json=answer["body"])

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(raw) for sent_to, raw in self.sent if sent_to == path]


def secret() -> str:
    return settings().stripe_app_secret


@pytest.fixture
def sync(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSync]:
    fake = FakeSync()
    monkeypatch.setattr(stripe_view_sync, "transport", httpx.MockTransport(fake.handle))

    async def post_event(event: dict[str, Any], attempts: int = 1) -> int:
        return 200  # install takes the events; not what these tests are about

    monkeypatch.setattr(stripe, "post_event", post_event)
    monkeypatch.setenv("STATUS_PUBLIC_URL", "http://127.0.0.1:9")  # the Dashboard finds no status
    yield fake
    # Nothing reached sync without Stripe's signature, or signed for another endpoint.
    assert fake.refused == []


@pytest.fixture
async def sandbox(sync: FakeSync) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(create_app(), "http://sandbox") as client:
        yield client


@pytest.fixture
def account() -> str:
    return "acct_unit" + secrets.token_hex(6)


async def paid_invoice(sandbox: httpx.AsyncClient, account: str) -> str:
    paid = await sandbox.post(
        "/_sandbox/stripe/invoices/pay",
        json={
            "account": account,
            "customer_name": "Hygge Kaffe ApS",
            "lines": [{"description": "Kaffebønner", "amount": 100000, "tax_percent": 25}],
        },
    )
    assert paid.status_code == 200, paid.text
    return str(paid.json()["invoice"]["id"])


def answer(group: str, name: str) -> dict[str, Any]:
    return dict(ANSWERS[group][name])


@dataclass
class Shown:
    text: str  # the element's text, whitespace folded
    rows: dict[str, str]  # dt → dd
    buttons: list[str]
    links: list[str]


def shown_in(page: str, element: str) -> Shown:
    """What an element (`<aside id="app-panel"`, `<section`) of a page shows a person."""
    start = page.index(element)
    end = page.index("</aside>" if "aside" in element else "</section>", start)
    part = page[start:end]
    rows = {
        html.unescape(dt): html.unescape(dd)
        for dt, dd in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", part)
    }
    buttons = [html.unescape(b) for b in re.findall(r"<button[^>]*>(.*?)</button>", part)]
    links = [html.unescape(a) for a in re.findall(r"<a [^>]*>(.*?)</a>", part)]
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part)))
    return Shown(text, rows, buttons, links)


async def panel_for(
    sandbox: httpx.AsyncClient, sync: FakeSync, account: str, state: str, **query: str
) -> Shown:
    sync.answers["/api/sync/object"] = answer("object", state)
    invoice = await paid_invoice(sandbox, account)
    page = await sandbox.get(f"/dashboard/{account}/test/invoices/{invoice}", params=query)
    assert page.status_code == 200, page.text
    return shown_in(page.text, '<aside id="app-panel"')


# --- the invoice panel --------------------------------------------------------------------------


async def test_the_panel_asks_sync_as_the_view_does_signed_by_stripe(
    sandbox, sync, account
) -> None:
    sync.answers["/api/sync/object"] = answer("object", "synced")
    invoice = await paid_invoice(sandbox, account)
    await sandbox.get(f"/dashboard/{account}/test/invoices/{invoice}")
    (raw,) = [raw for path, raw in sync.sent if path == "/api/sync/object"]
    # objectState(caller, id): {livemode, action, object_id}, no nonce (it changes nothing).
    fields = {"livemode": False, "action": "sync_state", "object_id": invoice}
    assert raw == view_payload(fields, USER, account).encode()


async def test_synced_shows_e_conomics_invoice_number_the_voucher_and_the_customer(
    sandbox, sync, account
) -> None:
    panel = await panel_for(sandbox, sync, account, "synced")
    assert "Synced · invoice 1001" in panel.text
    assert panel.rows == {"e-conomic invoice": "1001", "Voucher": "501", "e-conomic customer": "12"}
    assert panel.buttons == [] and panel.links == ["Check again"]


async def test_totals_differ_shows_the_reason_where_it_stopped_both_figures_and_replay(
    sandbox, sync, account
) -> None:
    panel = await panel_for(sandbox, sync, account, "totals_differ")
    assert "Needs attention" in panel.text
    assert "e-conomic priced the invoice differently from Stripe" in panel.text
    assert list(panel.rows.items()) == [
        ("Stopped at", "the draft invoice"),
        ("Stripe's total", "1,250.00 DKK"),
        ("e-conomic's total", "1,000.00 DKK"),
        ("Stripe's VAT", "250.00 DKK"),
        ("e-conomic's VAT", "0.00 DKK"),
        ("Draft invoice", "7"),
    ]
    assert panel.buttons == ["Replay"] and "nothing finished is done twice" in panel.text


async def test_a_zero_decimal_currency_shows_whole_yen(sandbox, sync, account) -> None:
    panel = await panel_for(sandbox, sync, account, "totals_differ_zero_decimal")
    assert panel.rows["Stripe's total"] == "11,000 JPY"
    assert panel.rows["e-conomic's total"] == "10,000 JPY"


async def test_e_conomic_refused_shows_its_message_and_the_field_it_names(
    sandbox, sync, account
) -> None:
    panel = await panel_for(sandbox, sync, account, "economic_refused")
    assert "e-conomic refused it." in panel.text
    assert panel.rows == {
        "Stopped at": "the customer",
        "e-conomic said": "Validation error.",
        "paymentTerms": "Payment terms not found.",
    }
    assert panel.buttons == ["Replay"]


@pytest.mark.parametrize(
    ("state", "badge", "why"),
    [
        ("skipped", "Skipped", "It was paid before the start date in the sync settings."),
        ("pending", "Pending", "Kobling is booking this in e-conomic. Check again in a moment."),
        ("unknown", "Not synced yet", "Kobling books an invoice in e-conomic once it is paid"),
    ],
)
async def test_skipped_pending_and_not_yet_say_so_and_why(
    sandbox, sync, account, state: str, badge: str, why: str
) -> None:
    panel = await panel_for(sandbox, sync, account, state)
    assert badge in panel.text and why in panel.text
    assert panel.rows == {} and panel.buttons == [] and panel.links == ["Check again"]


async def test_sync_down_or_failing_shows_kobling_could_not_be_reached(
    sandbox, sync, account
) -> None:
    sync.down = True
    panel = await panel_for(sandbox, sync, account, "synced")
    assert "Kobling could not be reached" in panel.text and "Synced" not in panel.text
    assert panel.buttons == [] and panel.links == ["Check again"]
    sync.down = False
    sync.answers["/api/sync/object"] = {"status": 500, "body": {"detail": "boom"}}
    invoice = await paid_invoice(sandbox, account)
    page = await sandbox.get(f"/dashboard/{account}/test/invoices/{invoice}")
    assert "Kobling could not be reached" in shown_in(page.text, '<aside id="app-panel"').text


async def test_replay_signs_a_replay_with_a_fresh_nonce_and_goes_back_to_the_invoice(
    sandbox, sync, account
) -> None:
    sync.answers["/api/sync/replay"] = answer("replay", "replayed")
    invoice = await paid_invoice(sandbox, account)
    form = {"account": account, "livemode": "false", "invoice": invoice}
    first = await sandbox.post("/app-view/replay", data=form)
    second = await sandbox.post("/app-view/replay", data=form)
    for pressed in (first, second):
        assert pressed.status_code == 303
        assert pressed.headers["location"] == f"/dashboard/{account}/test/invoices/{invoice}"
    sent = [raw for path, raw in sync.sent if path == "/api/sync/replay"]
    nonces = [json.loads(raw)["nonce"] for raw in sent]
    assert all(re.fullmatch(r"[0-9a-f]{32}", n) for n in nonces) and nonces[0] != nonces[1]
    for raw, nonce in zip(sent, nonces, strict=True):
        # replay(caller, id): {livemode, action, object_id, nonce}, in the view's order.
        fields = {"livemode": False, "action": "replay", "object_id": invoice, "nonce": nonce}
        assert raw == view_payload(fields, USER, account).encode()


async def test_a_refused_or_unanswered_replay_says_so_on_the_invoice(
    sandbox, sync, account
) -> None:
    sync.answers["/api/sync/replay"] = answer("replay", "used")  # 409: spent already
    invoice = await paid_invoice(sandbox, account)
    form = {"account": account, "livemode": "false", "invoice": invoice}
    refused = await sandbox.post("/app-view/replay", data=form)
    assert refused.headers["location"].endswith(f"/invoices/{invoice}?notice=replay_refused")
    sync.answers["/api/sync/object"] = answer("object", "totals_differ")
    panel = shown_in((await sandbox.get(refused.headers["location"])).text, '<aside id="app-pa')
    assert "Replay was refused." in panel.text and "Needs attention" in panel.text
    sync.down = True
    unanswered = await sandbox.post("/app-view/replay", data=form)
    assert unanswered.headers["location"].endswith("?notice=unreachable")


async def test_replay_takes_only_an_invoice_and_an_account(sandbox, sync, account) -> None:
    for form in (
        {"account": account, "invoice": "po_1Payout"},
        {"account": "someone", "invoice": "in_1Paid"},
        {"account": account, "invoice": 'in_1"><script>'},
    ):
        assert (await sandbox.post("/app-view/replay", data=form)).status_code == 422
    assert sync.sent == []


async def test_an_unknown_notice_is_not_shown(sandbox, sync, account) -> None:
    panel = await panel_for(sandbox, sync, account, "synced", notice="<b>You were hacked</b>")
    assert "hacked" not in panel.text


# --- the sync settings page ---------------------------------------------------------------------


def selects(page: str) -> dict[str, tuple[str, list[str]]]:
    """Each select: its selected value and its options' labels."""
    found = {}
    for name, inner in re.findall(r'<select id="(\w+)"[^>]*>(.*?)</select>', page, re.S):
        options = re.findall(r'<option value="([^"]*)"( selected)?>(.*?)</option>', inner)
        chosen = [value for value, selected, _ in options if selected]
        found[name] = (chosen[0] if chosen else "", [html.unescape(o[2]) for o in options])
    return found


def settings_path(account: str) -> str:
    return f"/dashboard/{account}/test/settings/apps/{settings().stripe_app_id}"


async def test_the_dashboard_links_to_the_sync_settings(sandbox, sync, account) -> None:
    page = await sandbox.get(f"/dashboard/{account}/test/dashboard")
    assert f'href="{settings_path(account)}">Sync settings</a>' in page.text


async def test_fresh_settings_offer_e_conomics_items_preselected_from_the_suggestions(
    sandbox, sync, account
) -> None:
    sync.answers["/api/sync/settings"] = answer("settings", "fresh")
    page = await sandbox.get(settings_path(account))
    assert page.status_code == 200
    (raw,) = [raw for path, raw in sync.sent if path == "/api/sync/settings"]
    fields = {"livemode": False, "action": "sync_settings"}
    assert raw == view_payload(fields, USER, account).encode()
    found = selects(page.text)
    assert list(found) == list(stripe_sync_settings.SETTING_NAMES[:-1])
    assert found["payment_terms"] == (
        "5",
        ["Choose…", "1 · Netto 8 dage", "2 · Løbende måned 30", "5 · Kreditkort"],
    )
    assert found["vat_zone"][0] == "1" and "4 · Domestic exempt" in found["vat_zone"][1]
    assert found["product"][0] == "1" and found["layout"][0] == "19"
    # sync suggests no account: the merchant picks each (of those that take entries).
    assert found["bank_account"] == ("", ["Choose…", *ACCOUNT_LABELS])
    assert '<input id="start_date" name="start_date" type="date" value="2026-11-23"' in page.text
    section = shown_in(page.text, '<section class="card" aria-labelledby="sync-h"')
    assert "Sync is off" in section.text and "Kobling filled in suggestions" in section.text
    assert "Bank account" in section.text and "Where Stripe's payouts arrive." in section.text


async def test_saved_settings_are_preselected_and_say_sync_is_on(sandbox, sync, account) -> None:
    sync.answers["/api/sync/settings"] = answer("settings", "complete")
    page = await sandbox.get(settings_path(account), params={"notice": "saved"})
    found = selects(page.text)
    assert found["fees_account"][0] == "3620" and found["payment_terms"][0] == "5"
    section = shown_in(page.text, '<section class="card" aria-labelledby="sync-h"')
    assert "Saved. Sync is on." in section.text and "Sync is on" in section.text
    assert "Kobling filled in suggestions" not in section.text


async def test_save_signs_the_picks_typed_as_the_view_types_them(sandbox, sync, account) -> None:
    sync.answers["/api/sync/settings"] = answer("settings", "fresh")
    sync.answers["/api/sync/settings/save"] = answer("save", "saved")
    form = {
        "account": account,
        "livemode": "false",
        **{name: "" for name in stripe_sync_settings.SETTING_NAMES},
        "layout": "19",
        "product": "1",
        "bank_account": "5820",
        "start_date": "2026-11-01",
    }
    saved = await sandbox.post("/app-view/sync-settings", data=form)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{settings_path(account)}?notice=saved"
    (raw,) = [raw for path, raw in sync.sent if path == "/api/sync/settings/save"]
    sent = json.loads(raw)
    expected = {
        **{name: None for name in stripe_sync_settings.SETTING_NAMES},
        "layout": 19,
        "product": "1",  # e-conomic numbers a product with a string
        "bank_account": 5820,
        "start_date": "2026-11-01",
        "products": {},
    }
    fields = {"livemode": False, "action": "save_sync_settings", "settings": expected}
    assert raw == view_payload(fields, USER, account).encode() and sent["settings"] == expected


async def test_a_save_e_conomic_refuses_shows_each_problem_beside_its_setting(
    sandbox, sync, account
) -> None:
    sync.answers["/api/sync/settings"] = answer("settings", "fresh")
    sync.answers["/api/sync/settings/save"] = answer("save", "refused_by_economic")
    form = {"account": account, "livemode": "false", "layout": "99", "fees_account": "1000"}
    page = await sandbox.post("/app-view/sync-settings", data=form)
    assert page.status_code == 422
    assert re.search(
        r'<select id="layout"[^>]*aria-invalid="true".*?<p class="error" id="layout-error">'
        r"99 is not in your e-conomic company any more. Choose another.</p>",
        page.text,
        re.S,
    )
    assert 'id="fees_account-error">Account 1000 does not take entries' in page.text
    # What was picked stays picked, even what e-conomic does not list.
    assert selects(page.text)["layout"][0] == "99"
    section = shown_in(page.text, '<section class="card" aria-labelledby="sync-h"')
    assert "e-conomic cannot take these settings. Nothing was saved." in section.text
    assert "Accounts: Two of the accounts are the same" in section.text


async def test_a_save_of_the_wrong_types_says_so_in_plain_words(sandbox, sync, account) -> None:
    sync.answers["/api/sync/settings"] = answer("settings", "fresh")
    sync.answers["/api/sync/settings/save"] = answer("save", "refused_types")
    page = await sandbox.post("/app-view/sync-settings", data={"account": account})
    assert 'id="layout-error">Choose one of the items in the list.</p>' in page.text
    assert 'id="start_date-error">Enter a date as year-month-day' in page.text
    assert "colour: Kobling does not know this setting." in page.text


async def test_not_connected_says_connect_e_conomic_first(sandbox, sync, account) -> None:
    sync.answers["/api/sync/settings"] = answer("settings", "not_connected")
    page = await sandbox.get(settings_path(account))
    assert page.status_code == 409 and "Connect e-conomic first" in page.text
    assert "<select" not in page.text
    saved = await sandbox.post("/app-view/sync-settings", data={"account": account})
    assert saved.status_code == 409 and not any(
        path == "/api/sync/settings/save" for path, _ in sync.sent
    )


async def test_sync_down_says_kobling_could_not_be_reached(sandbox, sync, account) -> None:
    sync.down = True
    page = await sandbox.get(settings_path(account))
    assert page.status_code == 502 and "Kobling could not be reached" in page.text


async def test_another_apps_or_a_strange_accounts_settings_are_not_found(
    sandbox, sync, account
) -> None:
    assert (await sandbox.get(f"/dashboard/{account}/test/settings/apps/x.y")).status_code == 404
    path = f"/dashboard/acct_x/mode/settings/apps/{settings().stripe_app_id}"
    assert (await sandbox.get(path)).status_code == 404
    assert sync.sent == []
