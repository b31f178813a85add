#!/usr/bin/env bash
# Kafka and FerretDB for the local demo and the tests: `infra.sh start|stop|status`.
# A broker or database named by the environment (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL pointing
# anywhere but the local defaults) is used as it is, and nothing is started for it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
action=${1:-status}

# KOBLING_CLUSTER=1: three local Kafka nodes (kafka.sh) instead of one.
local_kafka() {
  case "${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}" in
    127.0.0.1:9092 | 127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292) true ;;
    *) false ;;
  esac
}
local_mongo() { [ "${MONGODB_URL:-mongodb://127.0.0.1:27017}" = "mongodb://127.0.0.1:27017" ]; }

if local_kafka; then "$here/kafka.sh" "$action"; else echo "kafka: using $KAFKA_BOOTSTRAP_SERVERS" >&2; fi
if local_mongo; then "$here/ferretdb.sh" "$action"; else echo "ferretdb: using $MONGODB_URL" >&2; fi
