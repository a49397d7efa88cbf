#!/usr/bin/env bash
# Online verification soak (issue 9): `dts run` applies the source's binlog
# while sysbench writes at RATE transactions/s, and `dts verify --config
# --online` runs again and again for TIME seconds; any reported difference is
# a false one (the target is only behind, never wrong) and fails the script.
#
#   scripts/testenv up
#   TIME=300 RATE=500 SIZE=50000 benches/verify_online.sh
#
# Needs sysbench (apt-get install -y sysbench).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TABLES=${TABLES:-4}; SIZE=${SIZE:-50000}; TIME=${TIME:-300}; RATE=${RATE:-500}
SP=${DTS_TESTENV_SOURCE_PORT:-3307}; TP=${DTS_TESTENV_TARGET_PORT:-3308}
src() { mariadb --no-defaults -h127.0.0.1 -P"$SP" -uroot "$@"; }
tgt() { mariadb --no-defaults -h127.0.0.1 -P"$TP" -uroot "$@"; }
command -v sysbench >/dev/null || { echo "verify_online.sh: sysbench is missing: sudo apt-get install -y sysbench" >&2; exit 2; }
work=$(mktemp -d)
cargo build --quiet --release -p dts-cli
dts=target/release/dts
echo "preparing sysbench data: $TABLES tables x $SIZE rows"
src -e "DROP DATABASE IF EXISTS sbsoak; CREATE DATABASE sbsoak"
tgt -e "DROP DATABASE IF EXISTS sbsoak"
sysbench oltp_write_only --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$SP" --mysql-user=root \
    --mysql-db=sbsoak --tables="$TABLES" --table-size="$SIZE" prepare >/dev/null
cat > "$work/soak.toml" <<TOML
task = "verify-soak-$$"
[source]
url = "mysql://root@127.0.0.1:$SP"
[target]
url = "mysql://root@127.0.0.1:$TP"
[[objects]]
database = "sbsoak"
[migration]
types = ["schema", "full", "incremental"]
[cutover]
fence = "none"
TOML
$dts run --config "$work/soak.toml" > "$work/run.log" 2>&1 &
run=$!
trap 'kill "$run" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 900); do
    $dts status --config "$work/soak.toml" --json | grep -q '"phase": "incremental"' && break
    sleep 0.2
done
sysbench oltp_write_only --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$SP" --mysql-user=root \
    --mysql-db=sbsoak --tables="$TABLES" --table-size="$SIZE" --threads=4 --rate="$RATE" \
    --time="$TIME" --report-interval=0 run > "$work/sb.txt" &
sb=$!
runs=0; false_diffs=0
end=$(( $(date +%s) + TIME ))
while [ "$(date +%s)" -lt "$end" ]; do
    set +e
    $dts verify --config "$work/soak.toml" --online --json > "$work/v.json" 2>"$work/v.err"
    code=$?
    set -e
    runs=$((runs + 1))
    if [ "$code" -eq 1 ]; then
        false_diffs=$((false_diffs + 1)); echo "run $runs: a false difference:"; head -c 2000 "$work/v.json"; echo
    elif [ "$code" -ne 0 ]; then
        echo "run $runs: error: $(cat "$work/v.err")" >&2; exit 2
    fi
done
wait "$sb"
tps=$(grep -oP 'transactions:\s+\d+\s+\(\K[0-9.]+' "$work/sb.txt" || echo "?")
echo "online verification: $runs runs over $TIME s while sysbench wrote $tps transactions/s; false differences: $false_diffs"
$dts stop --config "$work/soak.toml" >/dev/null
wait "$run" || true
tgt -e "DROP DATABASE IF EXISTS sbsoak"
[ "$false_diffs" -eq 0 ]
