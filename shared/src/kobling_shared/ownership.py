"""Which accounts this instance answers for in work no message starts (econ-auth's periodic grant
check and outbox relay): those whose partition of a topic its consumer holds now.

Kafka's group protocol gives each partition to one instance of a consumer group and moves it when
instances come and go, so work keyed like the topic (by account) is spread with no coordinator of
our own, and an instance that dies hands its share on with its partitions. During a rebalance an
account may be owned by no instance (its work waits a round) or, for a moment, by two: so the work
must still be safe to do twice, and anything that must happen once claims itself in the database.
"""

from collections.abc import Callable

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.partitioner import DefaultPartitioner


def partition_of(key: str, partitions: set[int]) -> int:
    """The partition our producers write `key` to: aiokafka's default partitioner (Kafka's
    murmur2 of the key), over every partition of the topic."""
    every = sorted(partitions)
    return int(DefaultPartitioner()(key.encode(), every, every))


class Owned(ConsumerRebalanceListener):
    """A rebalance listener for one topic: the partitions held now, and whether a key is ours."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.held: frozenset[int] = frozenset()
        # Every partition of the topic, from the consumer's metadata once it has started.
        self._all: Callable[[], set[int] | None] = lambda: None

    def count_with(self, all_partitions: Callable[[], set[int] | None]) -> None:
        self._all = all_partitions

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.held = self.held - {tp.partition for tp in revoked if tp.topic == self.topic}

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.held = self.held | {tp.partition for tp in assigned if tp.topic == self.topic}

    def owns(self, key: str) -> bool:
        every = self._all()
        return bool(every) and partition_of(key, every or set()) in self.held
