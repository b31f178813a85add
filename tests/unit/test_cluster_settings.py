"""The settings a cluster needs reach the clients: topic layout, MongoDB's write concern."""

from kobling_install.settings import InstallSettings
from kobling_shared import kafka, mongo
from kobling_shared.events import DEAD_LETTER_TOPIC, INSTALLS_TOPIC


def test_the_write_concern_rides_in_mongodb_url() -> None:
    url = "mongodb://db-0,db-1,db-2/?replicaSet=rs0&w=majority&connect=false"
    client = mongo.make_client(url)
    assert client.write_concern.document == {"w": "majority"}
    plain = mongo.make_client("mongodb://127.0.0.1:27017/?connect=false")
    assert plain.write_concern.document == {}  # the server's default: say it in the URL


def test_topic_layout_comes_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("KAFKA_PARTITIONS", "24")
    monkeypatch.setenv("KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("KAFKA_MIN_INSYNC_REPLICAS", "2")
    layout = InstallSettings().kafka_layout
    assert layout == kafka.Layout(partitions=24, replication_factor=3, min_insync_replicas=2)
    specs = {spec.name: spec.partitions for spec in kafka.topic_specs(layout.partitions)}
    assert specs[INSTALLS_TOPIC] == 24 and specs[DEAD_LETTER_TOPIC] == 1


def test_the_defaults_suit_one_local_broker() -> None:
    assert InstallSettings().kafka_layout == kafka.Layout(6, 1, 1)


def test_producers_wait_for_every_in_sync_replica() -> None:
    broker = kafka.make_broker("127.0.0.1:9092,127.0.0.1:9192", "test")
    options = broker._connection_kwargs  # what FastStream hands aiokafka's producer
    assert options["acks"] == "all" and options["enable_idempotence"] is True
    assert options["bootstrap_servers"] == ["127.0.0.1:9092", "127.0.0.1:9192"]
