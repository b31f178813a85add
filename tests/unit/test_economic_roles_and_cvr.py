"""e-conomic's roles and a company's numbers as e-conomic documents them (issue 22, item 3;
docs/external-contracts.md E5, E9): a user adds an app when their roles match the app's required
roles (not "administrator rights"), and a Danish company's CVR is companyIdentificationNumber,
vatNumber being for Swedish agreements only."""

from pathlib import Path

from kobling_econ_auth.economic import _agreement
from kobling_sandbox.app import create_app as create_sandbox
from kobling_sandbox.economic_state import COMPANIES, REQUIRED_ROLES, USERS, Grant, self_body
from kobling_shared.events import ConnectedData
from kobling_shared.i18n import CATALOGUES, Words
from kobling_status.pages import templates
from kobling_status.projection import EconomicSection
from tests.in_process import client_of

ROOT = Path(__file__).resolve().parents[2]
CONFIRM = ROOT / "services/econ-auth/src/kobling_econ_auth/templates/confirm.html"


def test_a_user_adds_the_app_when_their_roles_cover_the_app_s_required_roles() -> None:
    assert REQUIRED_ROLES == ("SuperUser",)
    assert USERS["jane@acme.test"].may_add(REQUIRED_ROLES)
    assert not USERS["bookkeeper@acme.test"].may_add(REQUIRED_ROLES)


async def test_e_conomic_s_page_refuses_a_user_for_their_roles() -> None:
    async with client_of(create_sandbox(), "http://sandbox") as e_conomic:
        from kobling_sandbox.config import settings

        grant_page = await e_conomic.get(
            "/economic/secure/api1/requestaccess.aspx",
            params={
                "appPublicToken": settings().economic_app_public_token,
                "redirectUrl": "http://app.test/economic/callback/s",
                "locale": "en-US",
            },
        )
        flow = grant_page.text.split('name="flow" value="')[1].split('"')[0]
        email = {"flow": flow, "email": "bookkeeper@acme.test"}
        await e_conomic.post("/economic/login/email", data=email)
        refused = await e_conomic.post(
            "/economic/login/password", data={"flow": flow, "password": "secret"}
        )
    assert refused.status_code == 403
    assert "roles this app requires (SuperUser)" in refused.text
    assert "administrator" not in refused.text and "Add app" not in refused.text


def test_our_pages_speak_of_roles_not_administrator_rights() -> None:
    assert "confirm.roles" in CONFIRM.read_text()
    assert "roles include the role Kobling requires" in CATALOGUES["en"]["confirm.roles"]
    for lang in CATALOGUES:
        assert "administrator" not in CATALOGUES[lang]["confirm.roles"]
        refused = CATALOGUES[lang]["reason.permission_refused"]
        assert "Superuser" in refused and "administrator" not in refused


def test_a_danish_company_has_a_cvr_and_no_vat_number_a_swedish_one_both() -> None:
    danish = self_body(Grant(123456, USERS["jane@acme.test"]), "pub", "http://e.test")
    assert danish["company"]["companyIdentificationNumber"] == "12345678"
    assert "vatNumber" not in danish["company"]
    swedish = self_body(Grant(456789, USERS["anna@norrsken.test"]), "pub", "http://e.test")
    assert swedish["company"]["vatNumber"] == "SE556677889901"
    assert COMPANIES[456789].country == swedish["company"]["country"] == "Sweden"


def test_econ_auth_keeps_the_cvr_from_company_identification_number() -> None:
    danish = self_body(Grant(123456, USERS["jane@acme.test"]), "pub", "http://e.test")
    agreement = _agreement(danish)
    assert agreement.company_identification_number == "12345678"
    assert agreement.vat_number is None
    data = ConnectedData(sequence=1, **agreement.model_dump())
    assert data.company_identification_number == "12345678"


def test_the_status_page_shows_the_cvr() -> None:
    economic = EconomicSection(
        state="connected",
        agreement_number=123456,
        company_name="Acme ApS",
        company_identification_number="12345678",
    )
    for lang, label in (("en", "Company registration number (CVR)"), ("da", "CVR-nummer")):
        page = templates.env.get_template("account.html").render(
            lang=lang,
            t=Words(lang),
            account_id="acct_1",
            livemode=False,
            status=None,
            economic=economic,
            state="connected",
            reason="",
            waiting=False,
            continue_url="http://dashboard.test",
        )
        assert f"<dt>{label}</dt><dd>12345678</dd>" in page
        assert CATALOGUES[lang]["connection.vat_number"] not in page
