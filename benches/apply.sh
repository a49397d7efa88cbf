#!/usr/bin/env bash
# Incremental-migration benchmark, side by side on the same backlog:
#   ours    `dts apply --start P --until E` (bulk-copy's apply)
#   native  the target server's own replication from P to E, with
#           slave_parallel_threads=4 and slave_parallel_mode=optimistic
# The backlog: `sysbench oltp_write_only --tables=4 --threads=4 --time=$TIME`
# on the source after both targets were made equal to it at P. Then a
# sustained run: ours applies while sysbench writes at RATE transactions/s
# for $TIME seconds; the lag is sampled every 100 ms from a heartbeat row the
# script writes on the source (staleness of the target, in ms), and printed
# as p50 and p99 with our peak RSS.
#
#   scripts/testenv up
#   TIME=30 SIZE=100000 RATE=2000 benches/apply.sh
#
# Needs sysbench and bc (apt-get install -y sysbench bc).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TABLES=${TABLES:-4}; SIZE=${SIZE:-100000}; TIME=${TIME:-30}; RATE=${RATE:-2000}
SP=${DTS_TESTENV_SOURCE_PORT:-3307}; TP=${DTS_TESTENV_TARGET_PORT:-3308}
SURL="mysql://root@127.0.0.1:$SP"; TURL="mysql://root@127.0.0.1:$TP"
src() { mariadb --no-defaults -h127.0.0.1 -P"$SP" -uroot "$@"; }
tgt() { mariadb --no-defaults -h127.0.0.1 -P"$TP" -uroot "$@"; }
for tool in sysbench bc; do
    command -v "$tool" >/dev/null || { echo "apply.sh: $tool is missing: sudo apt-get install -y sysbench bc" >&2; exit 2; }
done
work=$(mktemp -d); trap 'rm -rf "$work"; tgt -e "STOP SLAVE '"'"'bench'"'"'; RESET SLAVE '"'"'bench'"'"' ALL" 2>/dev/null || true' EXIT
cargo build --quiet --release -p dts-cli
dts=target/release/dts
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
sb() { sysbench oltp_write_only --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$SP" \
        --mysql-user=root --mysql-db=sbtest --tables="$TABLES" --table-size="$SIZE" "$@"; }
pos() { src -N -e "SHOW MASTER STATUS" | awk '{print $1":"$2}'; }

echo "preparing sysbench data: $TABLES tables x $SIZE rows"
src -e "DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest"
sb --threads=4 prepare >/dev/null
src -e "CREATE TABLE sbtest.hb (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL)"
schema=$(mariadb-dump --no-defaults -h127.0.0.1 -P"$SP" -uroot --no-data sbtest)
for db in sbtest sb_ours; do
    tgt -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
    echo "$schema" | tgt "$db"
done
tgt -e "DROP DATABASE IF EXISTS dts_meta"
# Both targets equal to the source at P.
for db in sbtest sb_ours; do
    $dts copy --source "$SURL" --target "$TURL" --database sbtest --target-database "$db" --task "copy-$db" >/dev/null
done
$dts apply --source "$SURL" --target "$TURL" --database sbtest --target-database sb_ours --task bench --prepare >/dev/null
P=$(pos)
echo "backlog: sysbench oltp_write_only, 4 threads, $TIME s, from $P"
sb --threads=4 --time="$TIME" --report-interval=0 run > "$work/sb.txt"
E=$(pos)
tps=$(grep -oP 'transactions:\s+\d+\s+\(\K[0-9.]+' "$work/sb.txt" || echo "?")
txns=$(grep -oP 'transactions:\s+\K\d+' "$work/sb.txt" || echo "?")
echo "backlog: $txns transactions ($tps/s) up to $E"

t0=$(now)
/usr/bin/time -f "%M" -o "$work/rss" $dts apply --source "$SURL" --target "$TURL" --database sbtest \
    --target-database sb_ours --task bench --start "$P" --until "$E" > "$work/ours.txt"
ours=$(since "$t0"); rss=$(cat "$work/rss")
cat "$work/ours.txt"

tgt -e "STOP ALL SLAVES; SET GLOBAL slave_parallel_threads = 4"
tgt -e "CHANGE MASTER 'bench' TO master_host='127.0.0.1', master_port=$SP, master_user='root', \
        master_log_file='${P%:*}', master_log_pos=${P##*:}; \
        SET GLOBAL bench.replicate_do_db = 'sbtest'; SET GLOBAL slave_parallel_mode = 'optimistic'"
tgt -e "SET GLOBAL bench.slave_parallel_mode = 'optimistic'" 2>/dev/null || true
t0=$(now)
tgt -e "START SLAVE 'bench'"
w=$(tgt -N -e "SELECT MASTER_POS_WAIT('${E%:*}', ${E##*:}, 3600, 'bench')")
native=$(since "$t0")
[ "$w" != "-1" ] && [ "$w" != "NULL" ] || { echo "apply.sh: native replication did not reach $E" >&2; tgt -e "SHOW SLAVE 'bench' STATUS\G" >&2; exit 1; }
tgt -e "STOP SLAVE 'bench'; RESET SLAVE 'bench' ALL"

# Correctness: both targets equal the source.
for i in $(seq 1 "$TABLES"); do
    a=$(src -N -e "CHECKSUM TABLE sbtest.sbtest$i EXTENDED" | cut -f2)
    b=$(tgt -N -e "CHECKSUM TABLE sb_ours.sbtest$i EXTENDED" | cut -f2)
    c=$(tgt -N -e "CHECKSUM TABLE sbtest.sbtest$i EXTENDED" | cut -f2)
    [ "$a" = "$b" ] || { echo "apply.sh: sbtest$i differs after our apply ($a vs $b)" >&2; exit 1; }
    [ "$a" = "$c" ] || echo "apply.sh: note: sbtest$i differs after native replication ($a vs $c)" >&2
done
printf 'catch-up of the backlog: ours %.1f s, native parallel replication %.1f s, ratio native/ours %.2f; peak RSS %d MB\n' \
    "$ours" "$native" "$(echo "$native / $ours" | bc -l)" "$((rss / 1024))"

# Sustained: apply while sysbench writes at RATE transactions/s.
$dts apply --source "$SURL" --target "$TURL" --database sbtest --target-database sb_ours --task bench \
    > "$work/sustained.txt" 2>&1 &
apid=$!
(
    end=$(( $(date +%s) + TIME + 2 ))
    while [ "$(date +%s)" -lt "$end" ]; do
        src -e "REPLACE INTO sbtest.hb VALUES (1, UTC_TIMESTAMP(6))"; sleep 0.05
    done
) &
hbpid=$!
sb --threads=4 --time="$TIME" --rate="$RATE" --report-interval=0 run > "$work/sb2.txt" &
sbpid=$!
sleep 2
: > "$work/lag"
end=$(( $(date +%s) + TIME - 3 ))
while [ "$(date +%s)" -lt "$end" ]; do
    tgt -N -e "SELECT TIMESTAMPDIFF(MICROSECOND, ts, UTC_TIMESTAMP(6)) DIV 1000 FROM sb_ours.hb WHERE id = 1" >> "$work/lag" || true
    sleep 0.1
done
wait "$sbpid"; kill "$hbpid" 2>/dev/null || true
sleep 3
hwm=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$apid/status" 2>/dev/null || echo "?")
kill -INT "$apid"; wait "$apid" || true
tps2=$(grep -oP 'transactions:\s+\d+\s+\(\K[0-9.]+' "$work/sb2.txt" || echo "?")
sort -n "$work/lag" > "$work/lag.sorted"
n=$(wc -l < "$work/lag.sorted")
p50=$(sed -n "$(( (n + 1) / 2 ))p" "$work/lag.sorted")
p99=$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$work/lag.sorted")
echo "sustained at $tps2 transactions/s: lag p50 ${p50} ms, p99 ${p99} ms over $n samples (heartbeat every 50 ms); peak RSS ${hwm} MB"
