#!/usr/bin/env bash
# A real Apache Kafka (KRaft) from Maven Central jars, without Docker.
#   kafka.sh start|stop|status
# Downloads are cached in $KOBLING_CACHE (default ~/.cache/kobling); data, logs and the pid file
# live in $KOBLING_RUN_DIR (default <repo>/.run). Start is idempotent: a running broker is kept.
#
# KOBLING_CLUSTER=1: three nodes, each broker and controller, with a static quorum, as production
# runs (replication factor 3, min.insync.replicas 2). Node n listens on 9n92 (clients) and 9n93
# (controllers), n = 0, 1, 2, with its data and log under $KOBLING_RUN_DIR/kafka-cluster/node<n>.
#   kafka.sh kill-node N     SIGKILL one node (a crash: nothing flushed)
#   kafka.sh start-node N    start one node again (the others must be running)
set -euo pipefail

KAFKA_VERSION=4.1.1          # 4.x, KRaft only (4.0 to 4.4 are served; 4.1 is the line aiokafka 0.14 is known with)
SLF4J_VERSION=2.0.20
LOG4J_VERSION=2.26.1

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${KOBLING_CACHE:-$HOME/.cache/kobling}
RUN=${KOBLING_RUN_DIR:-$ROOT/.run}
LIB=$CACHE/kafka-$KAFKA_VERSION/lib
CLUSTER=${KOBLING_CLUSTER:-0}
[ "$CLUSTER" = 0 ] && NODES=(0) || NODES=(0 1 2)
# Small heaps: the machine runs three of these beside eight services and other people's work.
[ "$CLUSTER" = 0 ] && HEAP="-Xms256m -Xmx512m" || HEAP="-Xms128m -Xmx320m"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# node N: points DIR, PIDFILE, LOG, PORT and NAME (what lib.sh reads) at node N.
node() {
  N=$1
  PORT=$((9092 + 100 * N))
  CONTROLLER_PORT=$((PORT + 1))
  if [ "$CLUSTER" = 0 ]; then DIR=$RUN/kafka; NAME=kafka; else DIR=$RUN/kafka-cluster/node$N; NAME=kafka-$N; fi
  PIDFILE=$DIR/kafka.pid
  LOG=$DIR/kafka.log
}
node 0


fetch() {
  [ -f "$LIB/.complete" ] && return 0
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central (once)"
  mkdir -p "$LIB"
  local pom=$CACHE/kafka-$KAFKA_VERSION/pom.xml
  cat >"$pom" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.kobling</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
  mvn -B -q -f "$pom" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIB"
  touch "$LIB/.complete"
}

voters() {
  if [ "$CLUSTER" = 0 ]; then echo "1@127.0.0.1:9093"; return; fi
  echo "1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293"
}

# Internal topics as safe as ours: in a cluster, 3 copies and 2 in sync before a write counts.
replicated() {
  local rf=1 isr=1
  [ "$CLUSTER" = 0 ] || { rf=3; isr=2; }
  cat <<PROPS
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
PROPS
}

configure() {
  mkdir -p "$DIR/data"
  cat >"$DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=$((N + 1))
controller.quorum.voters=$(voters)
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DIR/data
num.partitions=3
auto.create.topics.enable=false
offsets.topic.num.partitions=1
group.initial.rebalance.delay.ms=0
$(replicated)
PROPS
  cat >"$DIR/log4j2.properties" <<'L4J'
status = warn
appender.console.type = Console
appender.console.name = STDERR
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.console.ref = STDERR
logger.server.name = kafka.server.KafkaServer
logger.server.level = INFO
logger.broker.name = kafka.server.BrokerServer
logger.broker.level = INFO
L4J
}

jopts() {
  echo "$HEAP -XX:+UseG1GC -Djava.awt.headless=true -Dkafka.logs.dir=$DIR" \
       "-Dlog4j2.configurationFile=$DIR/log4j2.properties"
}

broker_started() {
  grep -q "Kafka Server started\|Transition from STARTING to STARTED" "$LOG" 2>/dev/null && port_open
}

# The one cluster id every node is formatted with.
cluster_id() {
  local file=$RUN/kafka-cluster/cluster.id
  if [ "$CLUSTER" = 0 ]; then java -cp "$LIB/*" kafka.tools.StorageTool random-uuid; return; fi
  [ -f "$file" ] || { mkdir -p "$(dirname "$file")"; java -cp "$LIB/*" kafka.tools.StorageTool random-uuid >"$file"; }
  cat "$file"
}

# launch: starts this node's JVM without waiting; answers 1 when nothing was started.
launch() {
  if running; then log "already running (pid $(cat "$PIDFILE"))"; return 1; fi
  if port_open; then log "something else already answers on 127.0.0.1:$PORT: using it"; return 1; fi
  configure
  if [ ! -f "$DIR/data/meta.properties" ]; then
    # Static quorum (controller.quorum.voters), so format without --standalone.
    # shellcheck disable=SC2046
    java $(jopts) -cp "$LIB/*" kafka.tools.StorageTool format --ignore-formatted \
      -t "$(cluster_id)" -c "$DIR/server.properties" >/dev/null
  fi
  # The broker's GC pauses, with wall-clock times: the bench matches them against slow probes.
  # shellcheck disable=SC2046
  nohup java $(jopts) -Xlog:gc:file="$DIR/gc.log":time,uptime -cp "$LIB/*" kafka.Kafka "$DIR/server.properties" >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
}

# A node finishes starting only once a majority of the quorum is up, so all are launched first.
start() {
  fetch
  local started=()
  for n in "${NODES[@]}"; do node "$n"; if launch; then started+=("$n"); fi; done
  for n in "${started[@]}"; do node "$n"; wait_started broker_started 120; done
}

# All at once: the last node alone waits for a quorum that is gone before it stops.
stop() {
  for n in "${NODES[@]}"; do node "$n"; if running; then kill "$(cat "$PIDFILE")"; fi; done
  for n in "${NODES[@]}"; do node "$n"; stop_one; done
}

status() {
  local down=0
  for n in "${NODES[@]}"; do node "$n"; status_one || down=1; done
  return $down
}

start-node() { node "$1"; if launch; then wait_started broker_started 120; fi; }

kill-node() {
  node "$1"
  if running; then kill -9 "$(cat "$PIDFILE")"; rm -f "$PIDFILE"; log "killed"; else log "not running"; fi
}

"${1:-status}" "${@:2}"
