"""How far a rebuild has to go (kobling_status.rebuild.remaining): records that retention (or an
operator) deleted are never read nor committed by the rebuild's group, so they are not waited for.
Waiting for them hung the bench's mixed rebuild, which starts from emptied topics, and would hang
a rebuild after a year of grant uses had expired from a partition with no newer ones."""

from aiokafka import TopicPartition

from kobling_status.rebuild import remaining

USES = TopicPartition("economic.grant-uses.v1", 0)
INSTALLS = TopicPartition("stripe.app-installs.v1", 0)


def test_deleted_records_are_not_waited_for() -> None:
    end = {USES: 120, INSTALLS: 50}
    # Every grant use expired: the partition starts where it ends, and nothing was committed.
    assert remaining(end, {INSTALLS: 50}, starts={USES: 120, INSTALLS: 0}) == 0
    # Without the log starts, the rebuild would wait for 120 records that are gone.
    assert remaining(end, {INSTALLS: 50}) == 120


def test_records_kept_are_waited_for_from_the_log_start() -> None:
    end = {USES: 120, INSTALLS: 50}
    assert remaining(end, {}, starts={USES: 100}) == 20 + 50
    assert remaining(end, {USES: 110, INSTALLS: 50}, starts={USES: 100}) == 10
