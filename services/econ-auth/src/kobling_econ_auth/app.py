"""econ-auth: owns e-conomic grants, from the connect link to the grant check."""

from datetime import timedelta
from functools import partial

import httpx
from fastapi import FastAPI

from kobling_econ_auth import (
    broker_api,
    browser_routes,
    consent,
    consent_routes,
    consumers,
    grant_checks,
    operator_routes,
    relay,
    routes,
)
from kobling_econ_auth.broker import Broker
from kobling_econ_auth.budget import DailyBudget, caller_shares
from kobling_econ_auth.deps import Deps
from kobling_econ_auth.economic import EconomicClient
from kobling_econ_auth.grants import KEYS_DATABASE, GrantVault
from kobling_econ_auth.rejections import RejectionWave
from kobling_econ_auth.settings import EconAuthSettings, broker_callers
from kobling_econ_auth.store import ConnectionStore, UnsentUses
from kobling_shared import kafka
from kobling_shared.app_builder import build_app, connect
from kobling_shared.arrivals import Arrivals
from kobling_shared.crypto import MasterKeys, TokenCipher
from kobling_shared.events import CONNECTIONS_TOPIC, GRANT_USES_TOPIC, now
from kobling_shared.ops import dependency_checks, every, every_round

SERVICE = "econ-auth"
# The relay is for what a crash or an outage left behind; the normal path publishes at once.
OUTBOX_RELAY_SECONDS = 2.0
# Holds for consent expire after a week (holds.HOLD_FOR); looked for once an hour.
HOLD_SWEEP_SECONDS = 3600.0
# A link lives CONNECT_LINK_MAX_AGE and a state state_ttl_seconds; their "used" marks outlive both.
USED_ONCE_KEPT = timedelta(hours=1)


def create_app(settings: EconAuthSettings | None = None) -> FastAPI:
    settings = settings or EconAuthSettings()
    base = connect(SERVICE, settings)
    db = base.database("kobling_econ_auth")
    store = ConnectionStore(db, base.door, USED_ONCE_KEPT)
    http = httpx.AsyncClient()
    economic = EconomicClient(settings.economic_api_url, settings.economic_app_secret_token, http)
    rejections = RejectionWave(
        window=timedelta(seconds=settings.rejection_wave_window_seconds),
        min_answers=settings.rejection_wave_min_answers,
        share=settings.rejection_wave_share,
    )
    grants = GrantVault(
        base.database(KEYS_DATABASE)["data_keys"],
        MasterKeys(settings.token_encryption_keys),
        TokenCipher(settings.token_encryption_keys),
    )
    publisher = kafka.KafkaPublisher(base.broker)
    deps = Deps(settings, store, publisher, grants, economic, Arrivals(), rejections)
    owned = consumers.subscribe(base.broker, deps)
    budget = DailyBudget(db["broker_budget_tickets"], settings.economic_daily_budget, base.door)
    scopes = settings.broker_scopes()
    unsent = UnsentUses(db["grant_uses_unsent"])
    lender = Broker(deps, budget, unsent, scopes, caller_shares(budget, scopes))

    async def housekeeping() -> None:
        await relay.relay_all(deps, owned)
        await relay.relay_uses(unsent, deps, owned)
        grant_checks.settle_wave(deps)
        await store.forget_expired(now())
        await budget.forget_expired(now())

    app = build_app(
        base,
        deps,
        [
            routes.router,
            consent_routes.router,
            browser_routes.router,
            operator_routes.router,
            broker_api.router,
        ],
        # A suspected app secret is not in readiness: it raises
        # kobling_economic_credentials_suspect and an ERROR line. Out of rotation, every pod
        # would also stop serving what still works (links, cancels, pages), and whoever could
        # start a wave could switch econ-auth off.
        dependency_checks(base.broker, base.client),
        publishes=(CONNECTIONS_TOPIC, GRANT_USES_TOPIC),
        startup=[store.create_indexes, budget.create_indexes],
        loops=[
            partial(every, OUTBOX_RELAY_SECONDS, housekeeping),
            partial(every, HOLD_SWEEP_SECONDS, lambda: consent.expire_holds(deps, now(), owned)),
            partial(
                every_round,
                settings.grant_check_interval_seconds,
                lambda round_: grant_checks.check_all_grants(deps, owned, round_),
            ),
        ],
        shutdown=[http.aclose],
        view_cors=True,
    )
    app.state.broker = lender
    app.state.broker_callers = broker_callers(settings.economic_broker_tokens)
    return app
