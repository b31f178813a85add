"""The pretend e-conomic's memory: companies, users, grants, and how /self should behave."""

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Company:
    agreement_number: int
    name: str
    vat_number: str
    cin: str
    city: str
    email: str
    # A developer agreement manages apps and holds no books (companyAffiliation "Developer").
    developer: bool = False
    country: str = "Denmark"


@dataclass(frozen=True)
class User:
    name: str
    login_id: str
    agreements: tuple[int, ...]
    # e-conomic's roles ('SuperUser', 'Bookkeeping', 'Sales', 'Project employee'): a user may add
    # an app only when their roles cover the app's required roles (docs/external-contracts.md E5).
    roles: frozenset[str] = frozenset({"SuperUser"})

    def may_add(self, required: tuple[str, ...]) -> bool:
        return set(required) <= self.roles


# The roles our app asks for when it is created in e-conomic's developer portal (its
# requiredRoles in /self).
REQUIRED_ROLES = ("SuperUser",)

COMPANIES = {
    c.agreement_number: c
    for c in (
        # vatNumber "is only available to agreements in Sweden" (_self.md): Danish ones have none.
        Company(123456, "Acme ApS", "", "12345678", "Aarhus", "info@acme.test"),
        Company(234567, "Nordlys ApS", "", "23456789", "Aalborg", "hej@nordlys.test"),
        Company(345678, "Fjord Handel A/S", "", "34567890", "Vejle", "info@fjord.test"),
        Company(
            456789,
            "Norrsken AB",
            "SE556677889901",
            "556677-8899",
            "Malmö",
            "hej@norrsken.test",
            country="Sweden",
        ),
        Company(
            901234, "Kobling Dev", "", "90123400", "Aarhus", "dev@kobling.test", developer=True
        ),
    )
}

USERS = {
    "jane@acme.test": User("Jane Doe", "jane", (123456,)),
    "accountant@books.test": User("Anders Revisor", "anders", (234567, 345678)),
    "bookkeeper@acme.test": User("Bo Bogholder", "bo", (123456,), frozenset({"Bookkeeping"})),
    "developer@kobling.test": User("Dan Developer", "dan", (901234,)),
    "anna@norrsken.test": User("Anna Svensson", "anna", (456789,)),
}


def user_for(email: str) -> User:
    """Any other email owns a company of its own, named after its domain, so every demo visitor
    and every test can have a company nobody else has connected."""
    email = email.strip().lower()
    if email in USERS:
        return USERS[email]
    local, _, domain = email.partition("@")
    number = 500000 + int(hashlib.sha256(email.encode()).hexdigest(), 16) % 400000
    if number not in COMPANIES:
        name = f"{(domain.split('.')[0] or 'demo').capitalize()} ApS"
        COMPANIES[number] = Company(number, name, "", f"{number}00", "Odense", email)
    return User(local.capitalize() or "Demo", local or "demo", (number,))


Mode = Literal["ok", "slow", "error500", "rate_limited"]


@dataclass
class Grant:
    agreement_number: int
    user: User
    revoked: bool = False
    forbidden: bool = False  # the granting user has since lost a role the app needs: 403


@dataclass
class Flow:
    """One merchant's walk through login and consent."""

    redirect_url: str
    locale: str
    user: User | None = None
    agreement_number: int | None = None


@dataclass
class Behaviour:
    mode: Mode = "ok"
    times: int | None = None
    delay_seconds: float = 0.0
    retry_after: int = 1


@dataclass
class EconomicState:
    grants: dict[str, Grant] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    behaviour: Behaviour = field(default_factory=Behaviour)
    self_calls: int = 0
    # When each agreement's grant was presented to /self (unix seconds): how often we check it.
    self_calls_by_agreement: dict[int, list[float]] = field(default_factory=dict)
    api_calls: int = 0  # every request to the REST API, /self included: "calls nothing" tests
    # The App Secret Token e-conomic accepts now: its owner can reset it (None: the configured).
    app_secret: str | None = None

    def start_flow(self, redirect_url: str, locale: str) -> str:
        flow_id = secrets.token_urlsafe(16)
        self.flows[flow_id] = Flow(redirect_url, locale)
        return flow_id

    def grant(self, flow: Flow) -> str:
        assert flow.user is not None and flow.agreement_number is not None
        token = secrets.token_urlsafe(32)
        self.grants[token] = Grant(flow.agreement_number, flow.user)
        return token

    def forbid(self, agreement_number: int) -> int:
        forbidden = [g for g in self.grants.values() if g.agreement_number == agreement_number]
        for grant in forbidden:
            grant.forbidden = True
        return len(forbidden)

    def revoke(self, agreement_number: int) -> int:
        revoked = [g for g in self.grants.values() if g.agreement_number == agreement_number]
        for grant in revoked:
            grant.revoked = True
        return len(revoked)

    def next_behaviour(self) -> Behaviour:
        """The behaviour for this call to /self; a limited one runs out."""
        current = self.behaviour
        if current.times is not None:
            current.times -= 1
            if current.times <= 0:
                self.behaviour = Behaviour()
        return current


def self_body(grant: Grant, app_public_token: str, api_url: str) -> dict[str, Any]:
    """GET /self's answer, in e-conomic's shape: every property `_self.md` marks required
    (application.requiredRoles.self, application.self, modules.self, self, user.language.self)."""
    company = COMPANIES[grant.agreement_number]
    return {
        "agreementNumber": company.agreement_number,
        "userName": "API user",
        "company": {
            "name": company.name,
            "companyIdentificationNumber": company.cin,
            **({"vatNumber": company.vat_number} if company.vat_number else {}),
            "country": company.country,
            "city": company.city,
            "email": company.email,
        },
        "user": {
            "name": grant.user.name,
            "email": f"{grant.user.login_id}@{company.email.split('@')[1]}",
            "loginId": grant.user.login_id,
            "agreementNumber": company.agreement_number,
            "language": {
                "languageNumber": 1,
                "name": "Danish",
                "culture": "da-DK",
                "self": f"{api_url}/languages/1",
            },
        },
        "modules": [{"moduleNumber": 1, "name": "Sales", "self": f"{api_url}/modules/1"}],
        "agreementType": {"agreementTypeNumber": 21, "name": "e-conomic komplet"},
        "companyAffiliation": "Developer" if company.developer else "E-conomic",
        "application": {
            "appNumber": 999,
            "name": "Kobling",
            "appPublicToken": app_public_token,
            "requiredRoles": [
                {"name": role, "roleNumber": n, "self": f"{api_url}/app-roles/{n}"}
                for n, role in enumerate(REQUIRED_ROLES, start=1)
            ],
            "self": f"{api_url}/apps/999",
        },
        "settings": {"baseCurrency": "SEK" if company.country == "Sweden" else "DKK"},
        "self": f"{api_url}/self",
    }
