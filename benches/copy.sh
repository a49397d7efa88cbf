#!/usr/bin/env bash
# Full-copy benchmark, side by side on the same data and servers: our copy
# (bulk-copy's example binary), mydumper + myloader with the same threads,
# and server-side LOAD DATA INFILE of the same rows (the ingest limit).
# Interleaved rounds; prints medians, ratios and our peak RSS.
#
#   scripts/testenv up
#   TABLES=4 SIZE=250000 ROUNDS=3 benches/copy.sh
#
# Needs sysbench and mydumper (apt-get install -y sysbench mydumper).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TABLES=${TABLES:-4}; SIZE=${SIZE:-250000}; ROUNDS=${ROUNDS:-3}; THREADS=${THREADS:-4}
SP=${DTS_TESTENV_SOURCE_PORT:-3307}; TP=${DTS_TESTENV_TARGET_PORT:-3308}
src() { mariadb --no-defaults -h127.0.0.1 -P"$SP" -uroot "$@"; }
tgt() { mariadb --no-defaults -h127.0.0.1 -P"$TP" -uroot "$@"; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; chmod 755 "$work"
cargo build --quiet --release -p bulk-copy --example copy
if [ "$(src -N -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='sbtest'")" != "$TABLES" ] \
   || [ "$(src -N -e "SELECT COUNT(*) FROM sbtest.sbtest1" 2>/dev/null)" != "$SIZE" ]; then
    src -e "DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest"
    sysbench oltp_read_write --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$SP" --mysql-user=root \
        --mysql-db=sbtest --tables="$TABLES" --table-size="$SIZE" --threads="$THREADS" prepare >/dev/null
fi
schema=$(mariadb-dump --no-defaults -h127.0.0.1 -P"$SP" -uroot --no-data sbtest)
fresh_target() { tgt -e "DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest"; echo "$schema" | tgt sbtest; }
# Files for the ingest limit, written once by the source server.
for i in $(seq 1 "$TABLES"); do src -e "SELECT * INTO OUTFILE '$work/t$i.txt' FROM sbtest.sbtest$i"; done
now() { date +%s.%N; }
declare -a ours mydl limit rss
for r in $(seq 1 "$ROUNDS"); do
    fresh_target
    t0=$(now)
    /usr/bin/time -f "%M" -o "$work/rss" target/release/examples/copy \
        "mysql://root@127.0.0.1:$SP" "mysql://root@127.0.0.1:$TP" sbtest "$THREADS" >/dev/null
    ours+=("$(echo "$(now) - $t0" | bc)"); rss+=("$(cat "$work/rss")")

    tgt -e "DROP DATABASE IF EXISTS sbtest"; rm -rf "$work/dump"
    t0=$(now)
    mydumper -h 127.0.0.1 -P "$SP" -u root -B sbtest -t "$THREADS" -r 50000 -o "$work/dump" >/dev/null 2>&1
    myloader -h 127.0.0.1 -P "$TP" -u root -d "$work/dump" -t "$THREADS" >/dev/null 2>&1
    mydl+=("$(echo "$(now) - $t0" | bc)")

    fresh_target
    t0=$(now)
    for i in $(seq 1 "$TABLES"); do tgt -e "SET unique_checks=0, foreign_key_checks=0; LOAD DATA INFILE '$work/t$i.txt' INTO TABLE sbtest.sbtest$i" & done; wait
    limit+=("$(echo "$(now) - $t0" | bc)")
    echo "round $r: ours ${ours[-1]} s (peak RSS ${rss[-1]} KiB), mydumper+myloader ${mydl[-1]} s, LOAD DATA limit ${limit[-1]} s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mo=$(median "${ours[@]}"); mm=$(median "${mydl[@]}"); ml=$(median "${limit[@]}")
echo "medians: ours $mo s, mydumper+myloader $mm s, LOAD DATA limit $ml s"
echo "ratios: ours / mydumper+myloader = $(echo "scale=2; $mo / $mm" | bc), ours / LOAD DATA limit = $(echo "scale=2; $mo / $ml" | bc)"
echo "our peak RSS: $(median "${rss[@]}") KiB (median)"
