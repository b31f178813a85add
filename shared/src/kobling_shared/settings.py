"""Configuration read from the environment, with the names DESIGN.md fixes.

Local defaults point the outside parties at the sandbox. Secrets have well-known development values
so `make run` works on a fresh machine. Any KOBLING_ENV but a development value is production
(fails closed: a typo is production), where a service refuses to start without each secret it
needs, or with a short, low-entropy or development one, and names them.
"""

import base64
import binascii
import ipaddress
import logging
import math
from collections import Counter
from typing import ClassVar
from urllib.parse import urlsplit

from faststream.security import BaseSecurity
from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kobling_shared.kafka import EVENT_PARTITIONS, Layout, security

SANDBOX_URL = "http://127.0.0.1:8010"

# Where the outside parties live: the real ones in production, the sandbox in development.
PARTY_URLS: dict[str, tuple[str, str]] = {
    "stripe_api_base": ("https://api.stripe.com", SANDBOX_URL),
    "stripe_dashboard_url": ("https://dashboard.stripe.com", f"{SANDBOX_URL}/dashboard"),
    "stripe_marketplace_url": ("https://marketplace.stripe.com", SANDBOX_URL),
    "economic_grant_url": (
        "https://secure.e-conomic.com/secure/api1/requestaccess.aspx",
        f"{SANDBOX_URL}/economic/secure/api1/requestaccess.aspx",
    ),
    "economic_api_url": ("https://restapi.e-conomic.com", f"{SANDBOX_URL}/economic/api"),
}

# Where our own services answer the browser: every link and redirect starts with one. Production
# has no default for them (unset, they were loopback) and wants https: see public_url_problem.
PUBLIC_URLS: dict[str, str] = {
    "install_public_url": "http://127.0.0.1:8001",
    "econ_auth_public_url": "http://127.0.0.1:8002",
    "status_public_url": "http://127.0.0.1:8003",
}

# Development values only: production refuses them (see _require_secrets).
DEV_SECRETS: dict[str, str] = {
    "stripe_secret_key": "sk_live_kobling_dev",
    "stripe_test_secret_key": "sk_test_kobling_dev",
    "stripe_webhook_secret": "whsec_kobling_dev",
    "stripe_test_webhook_secret": "whsec_kobling_dev_test",
    "stripe_app_secret": "absec_kobling_dev",
    "stripe_client_id": "ca_kobling_dev",
    "stripe_test_client_id": "ca_kobling_dev_test",
    "stripe_application_ids": "ca_kobling_dev,ca_kobling_dev_test,app_kobling_dev",
    "economic_app_public_token": "kobling-dev-public",
    "economic_app_secret_token": "kobling-dev-secret",
    "token_encryption_keys": "ZGV2LWtleS1rb2JsaW5nLWRldi1rZXktMDAwMDAwMDA=",
    # One job each (issue 23): a status page link (minted by install and econ-auth, opened by
    # status) and a connect link (econ-auth alone mints and opens it).
    "page_link_key": "kobling-dev-page-link-key",
    "connect_link_key": "kobling-dev-connect-link-key",
    "internal_api_token": "kobling-dev-internal-token",
    # caller:token pairs for econ-auth's e-conomic broker, one token per calling service.
    "economic_broker_tokens": "sync:kobling-dev-broker-sync,bench:kobling-dev-broker-bench",
    # caller:token pairs for install's read-only Stripe broker, one token per calling service.
    "stripe_broker_tokens": "sync:kobling-dev-stripe-broker-sync",
}

log = logging.getLogger(__name__)


def secret_list(value: str) -> tuple[str, ...]:
    """The secrets of a comma-separated setting, in order (the newest first, by convention)."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


# The only KOBLING_ENV values meaning development; anything else, a typo too, is production.
DEVELOPMENT_ENVS = frozenset({"development", "dev", "local"})

# Required settings that are identifiers, not secrets: no entropy to ask of them.
NOT_SECRET = frozenset(
    {
        "stripe_client_id",
        "stripe_test_client_id",
        "stripe_application_ids",
        "economic_app_public_token",
    }
)
# Settings of `caller:token` pairs: each token is judged without its caller's name.
BROKER_TOKENS = frozenset({"economic_broker_tokens", "stripe_broker_tokens"})
MIN_SECRET_CHARS = 24
MIN_SECRET_BITS = 96  # Shannon entropy of the characters, times their number
ENCRYPTION_KEY_BYTES = 32
_PREFIXES = ("whsec_", "absec_", "sk_live_", "sk_test_", "rk_live_", "rk_test_")


def public_url_problem(url: str) -> str | None:
    """Why `url` cannot be a public URL in production, or None. Over http the browser-binding
    cookie loses `__Host-` and Secure (a sibling host could plant one) and links travel in the
    clear. Loopback by address is the one exception: the benchmark runs production on one machine,
    and such a URL reaches no merchant and has no sibling host."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        return "no user or password in it"
    if parts.query or parts.fragment or url.endswith(("?", "#", "/")):
        return "a base URL: no query, fragment or trailing slash"
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and _loopback_address(parts.hostname or ""):
        return None
    return "must be https://<host>"


def _loopback_address(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: `localhost` can resolve elsewhere, and `x.localhost` is a sibling


def _entropy_bits(value: str | bytes) -> float:
    counts = Counter(value)
    n = len(value)
    return -n * sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


def weak_secret(value: str) -> str | None:
    """Why `value` is too weak to guard production, or None. A list (a roll) is judged per item."""
    for part in (p.strip() for p in value.split(",")):
        body = next((part[len(p) :] for p in _PREFIXES if part.startswith(p)), part)
        if len(body) < MIN_SECRET_CHARS:
            return f"shorter than {MIN_SECRET_CHARS} characters"
        if _entropy_bits(body) < MIN_SECRET_BITS:
            return "too little entropy (repeated or patterned characters)"
    return None


def weak_broker_tokens(value: str) -> str | None:
    """ECONOMIC_BROKER_TOKENS and STRIPE_BROKER_TOKENS (`caller:token,…`): each token on its own.
    The caller's name is no secret, so it lends neither length nor entropy (a 19-character token
    behind `reconciliation:` passed as 34 characters)."""
    for entry in secret_list(value):
        caller, _, token = entry.partition(":")
        if why := weak_secret(token):
            return f"token of {caller}: {why}"
    return None


def weak_encryption_keys(value: str) -> str | None:
    """Each TOKEN_ENCRYPTION_KEYS entry, old ones too (an old key still opens what it sealed):
    32 random bytes in urlsafe base64."""
    for position, key in enumerate(k.strip() for k in value.split(",")):
        try:
            raw = base64.urlsafe_b64decode(key.encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != ENCRYPTION_KEY_BYTES:
            return f"key {position + 1} is not urlsafe base64 of {ENCRYPTION_KEY_BYTES} bytes"
        if _entropy_bits(raw) < 4 * ENCRYPTION_KEY_BYTES:
            return f"key {position + 1} has too little entropy"
    return None


# LINK_SIGNING_KEY's development value, from before each link had its own key.
RETIRED_DEV_SECRETS = ("kobling-dev-link-signing-key",)
_DEV_PARTS = frozenset(
    (*RETIRED_DEV_SECRETS, *(part.strip() for v in DEV_SECRETS.values() for part in v.split(",")))
)


def _is_dev_value(value: str) -> bool:
    """Any development value, in any setting and any place of a list (a list of ours too)."""
    return any(part.strip() in _DEV_PARTS for part in value.split(","))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Each service lists the secrets it cannot run without.
    required_secrets: ClassVar[tuple[str, ...]] = ()
    # The public URLs production requires on https (the sandbox, never production, wants none).
    public_urls: ClassVar[tuple[str, ...]] = tuple(PUBLIC_URLS)

    kobling_env: str = "development"
    bind_host: str = "127.0.0.1"
    # PORT: where this instance listens, when several run on one machine; 0: the service's own.
    port: int = 0

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Production's broker wants authentication and TLS (README, "Production"); local runs neither.
    kafka_sasl_mechanism: str = ""
    kafka_username: str = ""
    kafka_password: str = ""
    kafka_tls: bool = False
    # How topics are created when missing (kobling_shared.kafka.Layout); a cluster: 3 and 2.
    kafka_partitions: int = EVENT_PARTITIONS
    kafka_replication_factor: int = 1
    kafka_min_insync_replicas: int = 1
    # Credentials and TLS ride in the URL: mongodb://user:pass@host/?authSource=admin&tls=true
    mongodb_url: str = "mongodb://127.0.0.1:27017"

    # Stripe's live and test modes have their own keys and their own webhook endpoints, each with
    # its own signing secret; a secret setting may list several, comma-separated, during a roll.
    stripe_secret_key: str = ""
    stripe_test_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_test_webhook_secret: str = ""
    stripe_app_secret: str = ""
    # A Stripe App has one OAuth client id per mode: the install link and the code exchange of a
    # test install use the test one.
    stripe_client_id: str = ""
    stripe_test_client_id: str = ""
    # The ids that name our app in Stripe's install events (comma-separated): the application
    # `ca_…` of account.application.* (our OAuth client id of each mode). An event for any other
    # application is acknowledged and ignored. apps.install.* (which name the `app_…`) go to the
    # developer's own endpoint, not install's, and are ignored whatever they name.
    stripe_application_ids: str = ""
    stripe_api_base: str = ""
    stripe_dashboard_url: str = ""
    stripe_marketplace_url: str = ""
    # Where each mode's install link starts (unset: <STRIPE_MARKETPLACE_URL>/oauth/v2/authorize).
    # Until the app is published only its External test link works:
    # https://marketplace.stripe.com/oauth/v2/chnlink_…/authorize (docs/external-contracts.md O9).
    stripe_authorize_url: str = ""
    stripe_test_authorize_url: str = ""
    stripe_app_id: str = "com.kobling.app"

    economic_app_public_token: str = ""
    economic_app_secret_token: str = ""
    economic_grant_url: str = ""
    economic_api_url: str = ""

    token_encryption_keys: str = ""
    # PAGE_LINK_KEY: install, econ-auth and status; CONNECT_LINK_KEY: econ-auth alone.
    page_link_key: str = ""
    connect_link_key: str = ""
    # The single key both links had before: development only, where it fills each one unset.
    link_signing_key: str = ""
    internal_api_token: str = ""
    economic_broker_tokens: str = ""
    # install's read-only Stripe broker (POST /internal/stripe): `caller:token,…`.
    stripe_broker_tokens: str = ""

    # Unset: PUBLIC_URLS' loopback in development; production refuses to start.
    install_public_url: str = ""
    econ_auth_public_url: str = ""
    status_public_url: str = ""

    @property
    def kafka_security(self) -> BaseSecurity | None:
        return security(
            self.kafka_sasl_mechanism, self.kafka_username, self.kafka_password, self.kafka_tls
        )

    @property
    def kafka_layout(self) -> Layout:
        return Layout(
            self.kafka_partitions, self.kafka_replication_factor, self.kafka_min_insync_replicas
        )

    @property
    def production(self) -> bool:
        return self.kobling_env.strip().lower() not in DEVELOPMENT_ENVS

    @model_validator(mode="after")
    def _require_secrets(self) -> "Settings":
        if self.link_signing_key:
            self._fill_from_single_link_key()
        if self.production:
            self._refuse_weak_secrets()
            self._refuse_public_urls()
        for name, value in PUBLIC_URLS.items():
            if not self.production and not getattr(self, name):
                setattr(self, name, value)
        for name, value in DEV_SECRETS.items():
            if not self.production and not getattr(self, name):
                setattr(self, name, value)
        for name, (real, sandbox) in PARTY_URLS.items():
            if not getattr(self, name):
                setattr(self, name, real if self.production else sandbox)
        for name in ("stripe_authorize_url", "stripe_test_authorize_url"):
            if not getattr(self, name):
                setattr(self, name, f"{self.stripe_marketplace_url}/oauth/v2/authorize")
        return self

    def stripe_client_id_for(self, livemode: bool) -> str:
        return self.stripe_client_id if livemode else self.stripe_test_client_id

    def stripe_authorize_url_for(self, livemode: bool) -> str:
        return self.stripe_authorize_url if livemode else self.stripe_test_authorize_url

    def _refuse_weak_secrets(self) -> None:
        missing = [name for name in self.required_secrets if not getattr(self, name)]
        if missing:
            names = ", ".join(name.upper() for name in missing)
            raise ValueError(f"refusing to start in production without: {names}")
        dev = [n for n in self.required_secrets if _is_dev_value(getattr(self, n))]
        if dev:
            names = ", ".join(name.upper() for name in dev)
            raise ValueError(f"refusing to start in production with development values: {names}")
        problems = []
        for name in self.required_secrets:
            value = getattr(self, name)
            if name == "token_encryption_keys":
                why = weak_encryption_keys(value)
            elif name in BROKER_TOKENS:
                why = weak_broker_tokens(value)
            else:
                why = None if name in NOT_SECRET else weak_secret(value)
            if why:
                problems.append(f"{name.upper()} ({why})")
        if problems:
            names = "; ".join(problems)
            raise ValueError(f"refusing to start in production with weak secrets: {names}")

    def _fill_from_single_link_key(self) -> None:
        """LINK_SIGNING_KEY is the name DESIGN.md fixes, and a deployment that sets it alone must
        keep working: it fills whichever of the two link keys is unset, as the one key did both
        jobs before. In production that is a warning, not a refusal: every pod holding it can
        mint connect links, which deploy/k8s avoids by giving each key to its holders only."""
        self.page_link_key = self.page_link_key or self.link_signing_key
        self.connect_link_key = self.connect_link_key or self.link_signing_key
        if self.production:
            log.warning(
                "LINK_SIGNING_KEY signs both kinds of link: any service holding it can mint "
                "connect links. Set PAGE_LINK_KEY (install, econ-auth, status) and "
                "CONNECT_LINK_KEY (econ-auth alone) instead"
            )

    def _refuse_public_urls(self) -> None:
        missing = [name.upper() for name in self.public_urls if not getattr(self, name)]
        if missing:
            raise ValueError(f"refusing to start in production without: {', '.join(missing)}")
        problems = [
            f"{name.upper()} ({why})"
            for name in self.public_urls
            if (why := public_url_problem(getattr(self, name)))
        ]
        if problems:
            raise ValueError(f"refusing to start in production with: {'; '.join(problems)}")
