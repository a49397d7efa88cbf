#!/usr/bin/env bash
# Cut-over downtime (issue 18 point 5): how long `dts cutover` keeps the
# source fenced (read-only), for sysbench databases of growing size under
# writes. Every table is verified online before the fence; under it only the
# tables changed since are (table granularity, not rows yet), so the fenced
# time does not grow with the size of the tables the writes leave alone.
# sysbench writes to sbtest1 only (of TABLES): with writes on every table,
# every table is verified again under the fence and the time grows with it.
#
#   scripts/testenv up        # the source is made read-only and back again
#   SIZES="25000 250000" TABLES=4 RATE=200 benches/cutover.sh
#
# For each size: sysbench prepares TABLES x SIZE rows, `dts run` copies them
# and follows the binlog while sysbench writes at RATE transactions/s (as an
# account without SUPER, so the fence stops it), then `dts cutover` runs;
# the script prints the fenced duration `dts cutover` reports, the whole
# cut-over's time, and the rows. The source is writable again at the end.
# Needs sysbench (apt-get install -y sysbench).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TABLES=${TABLES:-4}; SIZES=${SIZES:-"25000 100000"}; RATE=${RATE:-200}
SP=${DTS_TESTENV_SOURCE_PORT:-3307}; TP=${DTS_TESTENV_TARGET_PORT:-3308}
src() { mariadb --no-defaults -h127.0.0.1 -P"$SP" -uroot "$@"; }
tgt() { mariadb --no-defaults -h127.0.0.1 -P"$TP" -uroot "$@"; }
command -v sysbench >/dev/null || { echo "cutover.sh: sysbench is missing: sudo apt-get install -y sysbench" >&2; exit 2; }
work=$(mktemp -d)
# DTS_BIN: a dts binary already built (default: a release build).
if [ -n "${DTS_BIN:-}" ]; then dts=$DTS_BIN; else
    cargo build --quiet --release -p dts-cli; dts=target/release/dts; fi
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    src -e "SET GLOBAL read_only = OFF" || true
    rm -rf "$work"
}
trap cleanup EXIT
src -e "CREATE USER IF NOT EXISTS 'sbcut'@'127.0.0.1'; GRANT ALL ON sbcut.* TO 'sbcut'@'127.0.0.1'"
printf '%-10s %-12s %-14s %-14s\n' rows fenced_s cutover_s verified_under_fence
for size in $SIZES; do
    src -e "SET GLOBAL read_only = OFF; DROP DATABASE IF EXISTS sbcut; CREATE DATABASE sbcut"
    tgt -e "DROP DATABASE IF EXISTS sbcut"
    sysbench oltp_write_only --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$SP" \
        --mysql-user=root --mysql-db=sbcut --tables="$TABLES" --table-size="$size" prepare >/dev/null
    task="cutover-bench-$$-$size"
    cat > "$work/$task.toml" <<TOML
task = "$task"
[source]
url = "mysql://root@127.0.0.1:$SP"
[target]
url = "mysql://root@127.0.0.1:$TP"
[[objects]]
database = "sbcut"
[migration]
types = ["schema", "full", "incremental"]
[cutover]
fence = "read-only"
max_lag_seconds = 5
TOML
    $dts run --config "$work/$task.toml" > "$work/run-$size.log" 2>&1 &
    run=$!; pids+=("$run")
    for _ in $(seq 1 3000); do
        $dts status --config "$work/$task.toml" --json | grep -q '"phase": "incremental"' && break
        sleep 0.2
    done
    # Writes until the fence stops them (bounded by --time as well).
    sysbench oltp_write_only --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$SP" \
        --mysql-user=sbcut --mysql-db=sbcut --tables=1 --table-size="$size" --threads=2 \
        --rate="$RATE" --time=600 --report-interval=0 --mysql-ignore-errors=all run \
        > "$work/sb-$size.txt" 2>&1 &
    sb=$!; pids+=("$sb")
    sleep 5
    start=$(date +%s.%N)
    $dts cutover --config "$work/$task.toml" > "$work/cut-$size.txt" 2>&1 \
        || { cat "$work/cut-$size.txt"; exit 1; }
    end=$(date +%s.%N)
    kill "$sb" 2>/dev/null || true; wait "$sb" 2>/dev/null || true
    wait "$run" || true
    fenced=$(sed -n 's/.*the source was fenced for \([0-9.]*\) s.*/\1/p' "$work/cut-$size.txt")
    under=$(sed -n 's/.*verifying on exact bytes the \([0-9]*\) tables.*/\1/p' "$work/cut-$size.txt")
    printf '%-10s %-12s %-14s %-14s\n' "$((TABLES * size))" "$fenced" \
        "$(echo "$end - $start" | bc)" "$under of $TABLES tables"
    src -e "SET GLOBAL read_only = OFF"
done
src -e "DROP DATABASE IF EXISTS sbcut; DROP USER IF EXISTS 'sbcut'@'127.0.0.1'"
tgt -e "DROP DATABASE IF EXISTS sbcut"
