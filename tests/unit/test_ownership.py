"""Which instance answers for an account: the one whose consumer holds the account's partition."""

import pytest
from aiokafka import TopicPartition

from kobling_shared.ownership import Owned, partition_of


@pytest.mark.parametrize(
    ("key", "murmur2"),
    # The Java client's own test vectors (Kafka's UtilsTest.testMurmur2): our instances and any
    # producer, Java or Python, agree on where a key lives.
    [("21", -973932308), ("foobar", -790332482), ("a-little-bit-long-string", -985981536)],
)
def test_a_key_lands_where_the_java_client_puts_it(key: str, murmur2: int) -> None:
    assert partition_of(key, set(range(12))) == (murmur2 & 0x7FFFFFFF) % 12


def test_keys_spread_over_every_partition() -> None:
    found = [partition_of(f"acct_{n:016x}", set(range(6))) for n in range(600)]
    assert set(found) == set(range(6))


async def test_ownership_follows_the_rebalances() -> None:
    owned = Owned("installs")
    owned.count_with(lambda: set(range(4)))
    keys = [f"acct_{n:016x}" for n in range(200)]
    assert not any(owned.owns(k) for k in keys)  # nothing assigned yet: nothing is ours
    await owned.on_partitions_assigned({TopicPartition("installs", p) for p in (0, 1)})
    await owned.on_partitions_assigned({TopicPartition("other", 2)})  # another topic's: ignored
    mine = {k for k in keys if owned.owns(k)}
    assert mine == {k for k in keys if partition_of(k, set(range(4))) in (0, 1)}
    await owned.on_partitions_revoked({TopicPartition("installs", 1)})
    assert {k for k in keys if owned.owns(k)} == {
        k for k in keys if partition_of(k, set(range(4))) == 0
    }


@pytest.mark.parametrize("partitions", [None, set()])
def test_no_metadata_means_nothing_is_ours(partitions: set[int] | None) -> None:
    owned = Owned("installs")
    owned.held = frozenset({0})
    owned.count_with(lambda: partitions)
    assert not owned.owns("acct_1")
