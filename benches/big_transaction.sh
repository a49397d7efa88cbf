#!/usr/bin/env bash
# Memory of the apply against the size of one source transaction (catalogue
# X2): for each N in SIZES, an N-row table on both servers, one UPDATE of every
# row in one source transaction, then `dts apply --start P --until E` over TCP;
# prints the apply's peak RSS and wall time per N, and checks the target.
#
#   scripts/testenv up
#   SIZES="10000 100000 1000000" benches/big_transaction.sh
#
# Measured on the 2-core box (MariaDB 10.11, debug build, rows of INT, INT,
# CHAR(40)): before the reader's queue was bounded in bytes, 125 MB at 200k rows
# and 401 MB at 1M (the queue of 4,096 events held the whole decoded
# transaction); with `queue_bytes` = 1 MiB, 31 MB at 10k, 87 MB at 100k, 153 MB
# at 1M: under 256 MB, but not yet flat. heaptrack puts the heap's peak at
# 66 MB (300k rows) and 83 MB (1M rows), a third of it the pending batch; the
# rest of the RSS is the allocator's retention (mimalloc instead of glibc's
# malloc changed it by under 10%, so it was not kept).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SIZES=${SIZES:-"10000 100000 1000000"}
SP=${DTS_TESTENV_SOURCE_PORT:-3307}; TP=${DTS_TESTENV_TARGET_PORT:-3308}
src() { mariadb --no-defaults -h127.0.0.1 -P"$SP" -uroot "$@"; }
tgt() { mariadb --no-defaults -h127.0.0.1 -P"$TP" -uroot "$@"; }
command -v /usr/bin/time >/dev/null || { echo "big_transaction.sh: /usr/bin/time is missing: sudo apt-get install -y time" >&2; exit 2; }
cargo build --quiet --release -p dts-cli
dts=target/release/dts
ddl="CREATE TABLE bigtx.t (id INT PRIMARY KEY, v INT, pad CHAR(40))"
fill() { echo "INSERT INTO bigtx.t SELECT seq, 0, 'x' FROM seq.seq_1_to_$1"; }
printf '%10s %12s %10s\n' rows peak_rss_mb seconds
for n in $SIZES; do
    for side in src tgt; do
        $side -e "DROP DATABASE IF EXISTS bigtx; CREATE DATABASE bigtx; CREATE DATABASE IF NOT EXISTS seq; $ddl; $(fill "$n")"
    done
    tgt -e "DROP DATABASE IF EXISTS dts_meta_bigtx"
    start=$(src -N -e "SHOW MASTER STATUS" | awk '{print $1":"$2}')
    src -e "UPDATE bigtx.t SET v = v + 1"
    end=$(src -N -e "SHOW MASTER STATUS" | awk '{print $1":"$2}')
    out=$( { /usr/bin/time -f '%M %e' "$dts" apply --source "mysql://root@127.0.0.1:$SP?prefer_socket=false" \
        --target "mysql://root@127.0.0.1:$TP?prefer_socket=false" --database bigtx --task bigtx \
        --meta-schema dts_meta_bigtx --start "$start" --until "$end" >/dev/null; } 2>&1 | tail -1)
    got=$(tgt -N -e "SELECT COUNT(*) = $n AND SUM(v) = $n FROM bigtx.t")
    [ "$got" = 1 ] || { echo "big_transaction.sh: the target is not the source's state at $n rows" >&2; exit 1; }
    read -r kb secs <<<"$out"
    printf '%10s %12s %10s\n' "$n" "$((kb / 1024))" "$secs"
done
src -e "DROP DATABASE bigtx"; tgt -e "DROP DATABASE bigtx; DROP DATABASE IF EXISTS dts_meta_bigtx"
