#!/usr/bin/env bash
# Kafka ACLs: a principal per service, each reading and writing only its own topics (issue 23).
# Run once, and again whenever a topic or a service is added, as a Kafka administrator:
#   KAFKA=kafka-0.kafka.internal:9093 ADMIN_CONFIG=admin.properties deploy/k8s/kafka-acls.sh
# with the brokers' `authorizer.class.name` set (KRaft: org.apache.kafka.metadata.authorizer.
# StandardAuthorizer) and `allow.everyone.if.no.acl.found=false`. Each principal is a SCRAM user
# whose password is KAFKA_PASSWORD in that service's Secret:
#   kafka-configs.sh --bootstrap-server "$KAFKA" --command-config "$ADMIN_CONFIG" --alter \
#     --add-config 'SCRAM-SHA-512=[password=…]' --entity-type users --entity-name kobling-status
# No service may create topics: create them first as the administrator (the partitions, copies
# and retention of kobling_shared.kafka.topic_specs). Every service may Describe every topic, which
# shows that it exists and where its partitions are, never a record: the services look for the
# topics at start (kobling_shared.kafka.ensure_topics) and find nothing to create. Since Kafka 3.0
# Write on a topic includes the idempotent producer (KIP-679): no cluster ACL is needed.
# Who writes and reads what: kobling_shared.events.topic_of, each service's consumers.py, and the
# dead letters every consumer writes (kobling_shared.kafka). tests/unit/test_service_secrets.py
# reads the `acl` lines below.
set -euo pipefail

acl() {
  kafka-acls.sh --bootstrap-server "$KAFKA" --command-config "$ADMIN_CONFIG" --add \
    --allow-principal "$1" "${@:2}"
}

# Describe: that a topic exists and where (ensure_topics looks at start), never a record.
acl User:kobling-install --operation Describe --topic stripe.app-installs.v1 --topic economic.connections.v1 --topic economic.grant-uses.v1 --topic stripe.account-events.v1 --topic sync.results.v1 --topic kobling.dead-letter.v1 --topic status.projected.v1
acl User:kobling-econ-auth --operation Describe --topic stripe.app-installs.v1 --topic economic.connections.v1 --topic economic.grant-uses.v1 --topic stripe.account-events.v1 --topic sync.results.v1 --topic kobling.dead-letter.v1 --topic status.projected.v1
acl User:kobling-status --operation Describe --topic stripe.app-installs.v1 --topic economic.connections.v1 --topic economic.grant-uses.v1 --topic stripe.account-events.v1 --topic sync.results.v1 --topic kobling.dead-letter.v1 --topic status.projected.v1
acl User:kobling-sync --operation Describe --topic stripe.app-installs.v1 --topic economic.connections.v1 --topic economic.grant-uses.v1 --topic stripe.account-events.v1 --topic sync.results.v1 --topic kobling.dead-letter.v1 --topic status.projected.v1

# install turns Stripe's webhooks into installs and uninstalls, and the Stripe events of installed
# accounts into account events for sync; it consumes nothing.
acl User:kobling-install --operation Write --topic stripe.app-installs.v1 --topic stripe.account-events.v1

# econ-auth consumes installs, publishes connections and the broker's audit.
acl User:kobling-econ-auth --operation Read --topic stripe.app-installs.v1
acl User:kobling-econ-auth --operation Read --group kobling-econ-auth
acl User:kobling-econ-auth --operation Write --topic economic.connections.v1 --topic economic.grant-uses.v1 --topic kobling.dead-letter.v1

# status consumes every event; its groups (kobling-status, kobling-status.grant-uses,
# kobling-status.sync-results, and a rebuild's kobling-status-…) share the prefix.
acl User:kobling-status --operation Read --topic stripe.app-installs.v1 --topic economic.connections.v1 --topic economic.grant-uses.v1 --topic sync.results.v1
acl User:kobling-status --operation Read --group kobling-status --resource-pattern-type prefixed
acl User:kobling-status --operation Write --topic kobling.dead-letter.v1
# Its instances tell each other what they wrote (status.projected.v1; read without a group).
acl User:kobling-status --operation Read --topic status.projected.v1
acl User:kobling-status --operation Write --topic status.projected.v1

# sync consumes the account events (its group: SYNC_GROUP_ID), publishes its results and the dead
# letters of its consumer.
acl User:kobling-sync --operation Read --topic stripe.account-events.v1
acl User:kobling-sync --operation Read --group kobling-sync
acl User:kobling-sync --operation Write --topic sync.results.v1 --topic kobling.dead-letter.v1
