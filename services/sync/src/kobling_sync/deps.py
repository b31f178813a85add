"""What sync's routes and consumers are given."""

from dataclasses import dataclass
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase

from kobling_shared.db.ports import Door
from kobling_shared.events import now
from kobling_shared.mongo import Document, insert_new
from kobling_sync.brokers import Economic, Stripe
from kobling_sync.handling import Sync
from kobling_sync.settings import SyncSettings
from kobling_sync.store import Records, SyncSettingsStore

# Stripe refuses a view signature older than 300 s; a spent one is remembered longer than that.
SPENT_KEPT = timedelta(minutes=10)


class SpentSignatures:
    """Signed view requests that change something (Replay), each used once."""

    def __init__(self, db: AsyncDatabase[Document], door: Door) -> None:
        self._spent = door.one_time(db["spent_signatures"])

    async def create_index(self) -> None:
        await self._spent.create_index()

    async def once(self, signature_id: str) -> bool:
        taken = await insert_new(
            self._spent.docs, [{"_id": signature_id, "expires_at": now() + SPENT_KEPT}]
        )
        return not taken


@dataclass(frozen=True)
class Deps:
    settings_: SyncSettings
    economic: Economic
    stripe: Stripe
    records: Records
    settings: SyncSettingsStore
    sync: Sync
    spent: SpentSignatures
