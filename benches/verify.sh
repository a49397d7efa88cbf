#!/usr/bin/env bash
# Verification benchmark, side by side on the same data and servers, in
# interleaved rounds; prints medians and ratios:
#   ours          `dts verify` (bulk-copy's verify): exact chunk hashes on both
#                 servers at once, PARALLEL workers
#   checksum-seq  `CHECKSUM TABLE` of every table on the source, then on the
#                 target (one client at a time; the time is the sum)
#   checksum-par  the same two `CHECKSUM TABLE` runs at once, one per server
#   pt-table-sync `pt-table-sync --print` source -> target (percona-toolkit)
#
# The data: sysbench tables on the source, copied to the target with
# `dts copy` once, checked equal with CHECKSUM TABLE EXTENDED first. Every
# timed run must find the tables equal (ours exits 0, pt-table-sync prints
# no statement), else the script stops.
#
#   scripts/testenv up
#   TABLES=4 SIZE=250000 ROUNDS=5 benches/verify.sh
#
# Needs sysbench and percona-toolkit (apt-get install -y sysbench percona-toolkit).
#
# Measured on the 2-core box (MariaDB 10.11, 4 x 250k rows, medians of 5-7
# rounds, six runs while other builds shared the cores): ours / CHECKSUM TABLE
# one server after the other 1.19-1.83 (1.19-1.23 when the box was quiet: our
# run needs both cores), ours / both CHECKSUM TABLEs at once 2.2-2.6 (per row
# the servers spend about 1.7x CHECKSUM TABLE's CPU on our exact encoding),
# ours / pt-table-sync --print 0.18-0.35.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TABLES=${TABLES:-4}; SIZE=${SIZE:-250000}; ROUNDS=${ROUNDS:-5}; PARALLEL=${PARALLEL:-4}
SP=${DTS_TESTENV_SOURCE_PORT:-3307}; TP=${DTS_TESTENV_TARGET_PORT:-3308}
src() { mariadb --no-defaults -h127.0.0.1 -P"$SP" -uroot "$@"; }
tgt() { mariadb --no-defaults -h127.0.0.1 -P"$TP" -uroot "$@"; }
for tool in sysbench pt-table-sync bc; do
    command -v "$tool" >/dev/null || { echo "verify.sh: $tool is missing: sudo apt-get install -y sysbench percona-toolkit bc" >&2; exit 2; }
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cargo build --quiet --release -p dts-cli
if [ "$(src -N -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='sbtest'")" != "$TABLES" ] \
   || [ "$(src -N -e "SELECT COUNT(*) FROM sbtest.sbtest1" 2>/dev/null)" != "$SIZE" ]; then
    echo "preparing sysbench data: $TABLES tables x $SIZE rows"
    src -e "DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest"
    sysbench oltp_read_write --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$SP" --mysql-user=root \
        --mysql-db=sbtest --tables="$TABLES" --table-size="$SIZE" --threads=4 prepare >/dev/null
fi
list=$(seq -s, -f "sbtest.sbtest%g" 1 "$TABLES")
if [ "$(src -N -e "CHECKSUM TABLE $list EXTENDED" | cut -f2)" != "$(tgt -N -e "CHECKSUM TABLE $list EXTENDED" 2>/dev/null | cut -f2)" ]; then
    echo "copying sbtest to the target with dts copy"
    tgt -e "DROP DATABASE IF EXISTS sbtest; DROP DATABASE IF EXISTS dts_meta; CREATE DATABASE sbtest"
    mariadb-dump --no-defaults -h127.0.0.1 -P"$SP" -uroot --no-data sbtest | tgt sbtest
    target/release/dts copy --source "mysql://root@127.0.0.1:$SP" --target "mysql://root@127.0.0.1:$TP" \
        --database sbtest --task verify-bench >/dev/null
    [ "$(src -N -e "CHECKSUM TABLE $list EXTENDED" | cut -f2)" = "$(tgt -N -e "CHECKSUM TABLE $list EXTENDED" | cut -f2)" ] \
        || { echo "verify.sh: the copy differs from the source" >&2; exit 1; }
fi
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
declare -a ours cseq cpar pts
for r in $(seq 1 "$ROUNDS"); do
    t0=$(now)
    target/release/dts verify --source "mysql://root@127.0.0.1:$SP" --target "mysql://root@127.0.0.1:$TP" \
        --database sbtest --parallel "$PARALLEL" >"$work/ours" \
        || { cat "$work/ours"; echo "verify.sh: dts verify found differences or failed" >&2; exit 1; }
    ours+=("$(since "$t0")")

    t0=$(now)
    src -N -e "CHECKSUM TABLE $list" >/dev/null
    tgt -N -e "CHECKSUM TABLE $list" >/dev/null
    cseq+=("$(since "$t0")")

    t0=$(now)
    src -N -e "CHECKSUM TABLE $list" >/dev/null & tgt -N -e "CHECKSUM TABLE $list" >/dev/null & wait
    cpar+=("$(since "$t0")")

    t0=$(now)
    pt-table-sync --print --databases sbtest "h=127.0.0.1,P=$SP,u=root" "h=127.0.0.1,P=$TP,u=root" >"$work/pts"
    pts+=("$(since "$t0")")
    [ ! -s "$work/pts" ] || { head "$work/pts"; echo "verify.sh: pt-table-sync printed statements" >&2; exit 1; }
    echo "round $r: ours ${ours[-1]} s, CHECKSUM TABLE source then target ${cseq[-1]} s, both at once ${cpar[-1]} s, pt-table-sync --print ${pts[-1]} s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { echo "scale=2; $1 / $2" | bc; }
mo=$(median "${ours[@]}"); ms=$(median "${cseq[@]}"); mp=$(median "${cpar[@]}"); mt=$(median "${pts[@]}")
echo "data: $TABLES tables x $SIZE rows; medians of $ROUNDS rounds"
echo "medians: ours $mo s, CHECKSUM TABLE source then target $ms s, both at once $mp s, pt-table-sync --print $mt s"
echo "ratios: ours / CHECKSUM TABLE sequential = $(ratio "$mo" "$ms"), ours / CHECKSUM TABLE concurrent = $(ratio "$mo" "$mp"), ours / pt-table-sync = $(ratio "$mo" "$mt")"
