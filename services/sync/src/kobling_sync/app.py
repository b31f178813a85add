"""sync: books paid Stripe invoices and payouts in the merchant's e-conomic, exactly once, through
install's Stripe broker and econ-auth's e-conomic broker; it holds no token of either."""

from datetime import timedelta
from functools import partial

import httpx
from fastapi import FastAPI

from kobling_shared.app_builder import build_app, connect
from kobling_shared.events import SYNC_RESULTS_TOPIC
from kobling_shared.kafka import KafkaPublisher
from kobling_shared.ops import dependency_checks, every
from kobling_sync import consumers
from kobling_sync.brokers import Economic, Stripe
from kobling_sync.deps import Deps, SpentSignatures
from kobling_sync.handling import Sync
from kobling_sync.invoices import InvoiceFlow
from kobling_sync.outcomes import Outcomes
from kobling_sync.payouts import PayoutFlow
from kobling_sync.settings import SyncSettings
from kobling_sync.steps import StepRunner
from kobling_sync.store import Customers, Records, SyncSettingsStore
from kobling_sync.view_routes import router

SERVICE = "sync"


def create_app(settings: SyncSettings | None = None) -> FastAPI:
    settings = settings or SyncSettings()
    base = connect(SERVICE, settings)
    db = base.database(settings.sync_database)
    http = httpx.AsyncClient()
    economic = Economic(settings.economic_broker_url, settings.sync_economic_broker_token, http)
    stripe = Stripe(settings.stripe_broker_url, settings.sync_stripe_broker_token, http)
    records = Records(db, base.door)
    steps = StepRunner(records)
    sync = Sync(
        records=records,
        settings=SyncSettingsStore(db, base.door),
        invoices=InvoiceFlow(economic, stripe, steps, Customers(db, base.door)),
        payouts=PayoutFlow(economic, stripe, steps),
        outcomes=Outcomes(records, KafkaPublisher(base.broker)),
    )
    spent = SpentSignatures(db, base.door)
    deps = Deps(settings, economic, stripe, records, sync.settings, sync, spent)
    consumers.subscribe(base.broker, sync, settings.sync_group_id)
    resume_after = settings.sync_resume_after_seconds
    stalled = partial(sync.resume_stalled, timedelta(seconds=resume_after))
    return build_app(
        base,
        deps,
        [router],
        dependency_checks(base.broker, base.client),
        publishes=(SYNC_RESULTS_TOPIC,),
        startup=[records.create_indexes, spent.create_index],
        loops=[partial(every, resume_after, stalled)],
        shutdown=[http.aclose],
        view_cors=True,
    )
