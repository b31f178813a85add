#!/usr/bin/env bash
# A real single-node Apache Kafka (KRaft) from Maven Central jars, without Docker.
#   kafka.sh start|stop|status
# Downloads are cached in $KOBLING_CACHE (default ~/.cache/kobling); data, logs and the pid file
# live in $KOBLING_RUN_DIR (default <repo>/.run). Start is idempotent: a running broker is kept.
set -euo pipefail

KAFKA_VERSION=4.1.1          # 4.x, KRaft only (4.0 to 4.4 are served; 4.1 is the line aiokafka 0.14 is known with)
SLF4J_VERSION=2.0.20
LOG4J_VERSION=2.26.1

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${KOBLING_CACHE:-$HOME/.cache/kobling}
RUN=${KOBLING_RUN_DIR:-$ROOT/.run}
LIB=$CACHE/kafka-$KAFKA_VERSION/lib
DIR=$RUN/kafka
PIDFILE=$DIR/kafka.pid
LOG=$DIR/kafka.log
PORT=9092
NAME=kafka
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"


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

configure() {
  mkdir -p "$DIR/data"
  cat >"$DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DIR/data
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
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
  echo "-Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true -Dkafka.logs.dir=$DIR" \
       "-Dlog4j2.configurationFile=$DIR/log4j2.properties"
}

broker_started() {
  grep -q "Kafka Server started\|Transition from STARTING to STARTED" "$LOG" 2>/dev/null && port_open
}

start() {
  if running; then log "already running (pid $(cat "$PIDFILE"))"; return 0; fi
  if port_open; then log "something else already answers on 127.0.0.1:$PORT: using it"; return 0; fi
  fetch
  configure
  if [ ! -f "$DIR/data/meta.properties" ]; then
    # Static quorum (controller.quorum.voters), so format without --standalone.
    local cid
    cid=$(java -cp "$LIB/*" kafka.tools.StorageTool random-uuid)
    # shellcheck disable=SC2046
    java $(jopts) -cp "$LIB/*" kafka.tools.StorageTool format --ignore-formatted \
      -t "$cid" -c "$DIR/server.properties" >/dev/null
  fi
  # shellcheck disable=SC2046
  nohup java $(jopts) -cp "$LIB/*" kafka.Kafka "$DIR/server.properties" >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  wait_started broker_started 60
}

"${1:-status}"
