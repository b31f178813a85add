"""A topic in memory: what a publisher put on it, and publishes that fail on demand."""

from kobling_shared.events import AnyEvent


class BrokerDown(Exception):
    """What the fake answers for a publish it was told to fail."""


class FakeTopic:
    """Satisfies kobling_shared.kafka.Publisher. Holds every event it took, in order."""

    def __init__(self) -> None:
        self.events: list[AnyEvent] = []
        self.failing: set[str] = set()  # event ids whose publish fails
        self.down = False  # every publish fails

    async def publish(self, event: AnyEvent) -> None:
        if self.down or event.id in self.failing:
            raise BrokerDown(event.id)
        self.events.append(event)

    @property
    def ids(self) -> list[str]:
        return [event.id for event in self.events]
