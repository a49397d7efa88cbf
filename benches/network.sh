#!/usr/bin/env bash
# Benchmarks across a simulated network, side by side in one run, at each
# round-trip time of RTTS (default: "direct 0 2 10"; "direct" is no proxy,
# the others a delay line of that many ms, test-support's `delayline`, in
# front of the source and of the target, which every connection of dts and
# of the peers goes through):
#   copy       `dts copy` against mydumper then myloader (THREADS each), on
#              TABLES x SIZE sysbench rows (database nwcopy)
#   catch-up   `dts apply --start P --until E` against the target server's
#              own replication from P to E (slave_parallel_threads=4,
#              slave_parallel_mode=optimistic; its IO thread connects to the
#              source through the delay line), on the backlog of a
#              `sysbench oltp_write_only` run of BACKLOG seconds (database
#              sbtest, TABLES x APPLY_SIZE rows); both targets are restored
#              to the state at P before each row
#   sustained  `dts apply` while sysbench writes at RATE transactions/s for
#              TIME seconds; lag p50/p99 (ms) from a heartbeat row written on
#              the source every 50 ms, sampled on the target every 100 ms
# dts connects over TCP (`?prefer_socket=false`), as the peers do: on
# 127.0.0.1 mysql_async would otherwise move to the Unix socket. Every row
# prints its times, the ratio ours/peer, and our peak RSS; the table at the
# end gathers them. Our results are checked against the source (checksums).
#
#   DTS_TESTENV_SOURCE_PORT=3387 DTS_TESTENV_TARGET_PORT=3388 scripts/testenv up
#   DTS_TESTENV_SOURCE_PORT=3387 DTS_TESTENV_TARGET_PORT=3388 benches/network.sh
#   SHORT=1 benches/network.sh          # a minute: small data, RTTS="0 10"
#
# Needs sysbench, mydumper and bc (apt-get install -y sysbench mydumper bc).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ "${SHORT:-0}" = 1 ]; then
    TABLES=${TABLES:-2}; SIZE=${SIZE:-20000}; APPLY_SIZE=${APPLY_SIZE:-10000}
    BACKLOG=${BACKLOG:-3}; TIME=${TIME:-6}; RATE=${RATE:-200}; RTTS=${RTTS:-"0 10"}
fi
TABLES=${TABLES:-4}; SIZE=${SIZE:-250000}; APPLY_SIZE=${APPLY_SIZE:-100000}
BACKLOG=${BACKLOG:-20}; TIME=${TIME:-20}; RATE=${RATE:-2000}; THREADS=${THREADS:-4}
RTTS=${RTTS:-"direct 0 2 10"}
SP=${DTS_TESTENV_SOURCE_PORT:-3307}; TP=${DTS_TESTENV_TARGET_PORT:-3308}
src() { mariadb --no-defaults -h127.0.0.1 -P"$SP" -uroot "$@"; }
tgt() { mariadb --no-defaults -h127.0.0.1 -P"$TP" -uroot "$@"; }
for tool in sysbench mydumper myloader bc; do
    command -v "$tool" >/dev/null || { echo "network.sh: $tool is missing: apt-get install -y sysbench mydumper bc" >&2; exit 2; }
done
work=$(mktemp -d); chmod 755 "$work"
lines=()
cleanup() {
    for p in "${lines[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -z "${apid:-}" ] || kill "$apid" 2>/dev/null || true
    [ -z "${hbpid:-}" ] || kill "$hbpid" 2>/dev/null || true
    tgt -e "STOP SLAVE 'bench'; RESET SLAVE 'bench' ALL" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cargo build --quiet --release -p dts-cli -p dts-test-support --bin dts --bin delayline
dts=target/release/dts
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }
mb() { echo $(( $1 / 1024 )); }
pos() { src -N -e "SHOW MASTER STATUS" | awk '{print $1":"$2}'; }
sb() { local db=$1 size=$2; shift 2
       sysbench oltp_write_only --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$SP" \
        --mysql-user=root --mysql-db="$db" --tables="$TABLES" --table-size="$size" "$@"; }
checksums() { # server db: one line of the tables' checksums
    local f=$1 db=$2 i; for i in $(seq 1 "$TABLES"); do $f -N -e "CHECKSUM TABLE $db.sbtest$i EXTENDED" | cut -f2; done | tr '\n' ' '; }
# Starts delay lines of $1 ms before the source and the target; sets SDP/TDP.
line_up() {
    if [ "$1" = direct ]; then SDP=$SP; TDP=$TP; return; fi
    local f
    for side in s t; do
        f="$work/line-$side"; : > "$f"
        target/release/delayline --upstream "$([ $side = s ] && echo "$SP" || echo "$TP")" --rtt-ms "$1" > "$f" &
        lines+=("$!")
        while [ ! -s "$f" ]; do sleep 0.05; done
        if [ $side = s ]; then SDP=$(head -1 "$f"); else TDP=$(head -1 "$f"); fi
    done
}
line_down() { for p in "${lines[@]}"; do kill "$p" 2>/dev/null || true; done; lines=(); }
surl() { echo "mysql://root@127.0.0.1:$SDP?prefer_socket=false"; }
turl() { echo "mysql://root@127.0.0.1:$TDP?prefer_socket=false"; }

# ---- data ----------------------------------------------------------------
echo "preparing: copy data $TABLES x $SIZE rows (nwcopy), apply data $TABLES x $APPLY_SIZE rows (sbtest)"
src -e "DROP DATABASE IF EXISTS nwcopy; CREATE DATABASE nwcopy; DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest"
sb nwcopy "$SIZE" --threads="$THREADS" prepare >/dev/null
sb sbtest "$APPLY_SIZE" --threads="$THREADS" prepare >/dev/null
src -e "CREATE TABLE sbtest.hb (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL)"
copy_sums=$(checksums src nwcopy)
copy_schema=$(mariadb-dump --no-defaults -h127.0.0.1 -P"$SP" -uroot --no-data nwcopy)
tgt -e "DROP DATABASE IF EXISTS dts_meta; DROP DATABASE IF EXISTS nwsnap; CREATE DATABASE nwsnap"
mariadb-dump --no-defaults -h127.0.0.1 -P"$SP" -uroot --no-data sbtest | tgt nwsnap
# The state at P, kept on the target in nwsnap, restored before each row.
$dts copy --source "mysql://root@127.0.0.1:$SP?prefer_socket=false" --target "mysql://root@127.0.0.1:$TP?prefer_socket=false" \
    --database sbtest --target-database nwsnap --task nw-snap >/dev/null
restore() { # db: a fresh copy of nwsnap
    local q="DROP DATABASE IF EXISTS $1; CREATE DATABASE $1;" t
    for t in $(seq 1 "$TABLES") hb; do
        [ "$t" = hb ] && t=hb || t="sbtest$t"
        q+="CREATE TABLE $1.$t LIKE nwsnap.$t; INSERT INTO $1.$t SELECT * FROM nwsnap.$t;"
    done
    tgt -e "$q"
}
for r in $RTTS; do
    $dts apply --source "mysql://root@127.0.0.1:$SP" --target "mysql://root@127.0.0.1:$TP" --database sbtest \
        --target-database sb_ours --task "nw-$r" --prepare >/dev/null
done
P=$(pos)
sb sbtest "$APPLY_SIZE" --threads=4 --time="$BACKLOG" --report-interval=0 run > "$work/sb.txt"
E=$(pos)
apply_sums=$(checksums src sbtest)
txns=$(grep -oP 'transactions:\s+\K\d+' "$work/sb.txt" || echo "?")
echo "backlog: $txns transactions (sysbench oltp_write_only, 4 threads, $BACKLOG s) from $P to $E"

declare -A T
for r in $RTTS; do
    line_up "$r"
    # ---- copy ------------------------------------------------------------
    tgt -e "DROP DATABASE IF EXISTS nwcopy; CREATE DATABASE nwcopy"; echo "$copy_schema" | tgt nwcopy
    t0=$(now)
    /usr/bin/time -f "%M" -o "$work/rss" $dts copy --source "$(surl)" --target "$(turl)" \
        --database nwcopy --readers "$THREADS" --task "nw-copy-$r" >/dev/null
    T[copy_ours_$r]=$(since "$t0"); T[copy_rss_$r]=$(mb "$(cat "$work/rss")")
    [ "$(checksums tgt nwcopy)" = "$copy_sums" ] || { echo "network.sh: $r: nwcopy differs after our copy" >&2; exit 1; }
    tgt -e "DROP DATABASE IF EXISTS nwcopy"; rm -rf "$work/dump"
    t0=$(now)
    mydumper -h 127.0.0.1 -P "$SDP" -u root -B nwcopy -t "$THREADS" -r 50000 -o "$work/dump" >/dev/null 2>&1
    myloader -h 127.0.0.1 -P "$TDP" -u root -d "$work/dump" -t "$THREADS" >/dev/null 2>&1
    T[copy_peer_$r]=$(since "$t0")
    [ "$(checksums tgt nwcopy)" = "$copy_sums" ] || echo "network.sh: note: $r: nwcopy differs after mydumper+myloader" >&2
    rm -rf "$work/dump"
    echo "$r: copy: ours ${T[copy_ours_$r]} s (peak RSS ${T[copy_rss_$r]} MB), mydumper+myloader ${T[copy_peer_$r]} s"

    # ---- catch-up --------------------------------------------------------
    restore sb_ours; restore sbtest
    t0=$(now)
    /usr/bin/time -f "%M" -o "$work/rss" $dts apply --source "$(surl)" --target "$(turl)" --database sbtest \
        --target-database sb_ours --task "nw-$r" --start "$P" --until "$E" > "$work/ours.txt"
    T[cu_ours_$r]=$(since "$t0"); T[cu_rss_$r]=$(mb "$(cat "$work/rss")")
    [ "$(checksums tgt sb_ours)" = "$apply_sums" ] || { echo "network.sh: $r: sb_ours differs after our apply" >&2; exit 1; }
    tgt -e "STOP ALL SLAVES; SET GLOBAL slave_parallel_threads = 4; SET GLOBAL slave_parallel_mode = 'optimistic'"
    tgt -e "CHANGE MASTER 'bench' TO master_host='127.0.0.1', master_port=$SDP, master_user='root', \
            master_log_file='${P%:*}', master_log_pos=${P##*:}; SET GLOBAL bench.replicate_do_db = 'sbtest'"
    t0=$(now)
    tgt -e "START SLAVE 'bench'"
    w=$(tgt -N -e "SELECT MASTER_POS_WAIT('${E%:*}', ${E##*:}, 3600, 'bench')")
    T[cu_peer_$r]=$(since "$t0")
    [ "$w" != "-1" ] && [ "$w" != "NULL" ] || { echo "network.sh: native replication did not reach $E" >&2; tgt -e "SHOW SLAVE 'bench' STATUS\G" >&2; exit 1; }
    tgt -e "STOP SLAVE 'bench'; RESET SLAVE 'bench' ALL"
    [ "$(checksums tgt sbtest)" = "$apply_sums" ] || echo "network.sh: note: $r: sbtest differs after native replication" >&2
    echo "$r: catch-up: ours ${T[cu_ours_$r]} s (peak RSS ${T[cu_rss_$r]} MB), native parallel replication ${T[cu_peer_$r]} s"
    line_down
done

# ---- sustained -----------------------------------------------------------
# One task carries on from the last catch-up row's checkpoint (its target
# is at E); each row first catches up what was written since, then is sampled.
last=${RTTS##* }
for r in $RTTS; do
    line_up "$r"
    $dts apply --source "$(surl)" --target "$(turl)" --database sbtest --target-database sb_ours \
        --task "nw-$last" > "$work/sustained.txt" 2>&1 &
    apid=$!
    (
        end=$(( $(date +%s) + TIME + 2 ))
        while [ "$(date +%s)" -lt "$end" ]; do
            src -e "REPLACE INTO sbtest.hb VALUES (1, UTC_TIMESTAMP(6))"; sleep 0.05
        done
    ) &
    hbpid=$!
    sb sbtest "$APPLY_SIZE" --threads=4 --time="$TIME" --rate="$RATE" --report-interval=0 run > "$work/sb2.txt" &
    sbpid=$!
    sleep 2
    : > "$work/lag"
    end=$(( $(date +%s) + TIME - 3 ))
    while [ "$(date +%s)" -lt "$end" ]; do
        tgt -N -e "SELECT TIMESTAMPDIFF(MICROSECOND, ts, UTC_TIMESTAMP(6)) DIV 1000 FROM sb_ours.hb WHERE id = 1" >> "$work/lag" || true
        sleep 0.1
    done
    wait "$sbpid"; wait "$hbpid" || true; hbpid=
    sleep 2
    T[sus_rss_$r]=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$apid/status" 2>/dev/null || echo "?")
    kill -INT "$apid"; wait "$apid" || true; apid=
    T[sus_tps_$r]=$(grep -oP 'transactions:\s+\d+\s+\(\K[0-9.]+' "$work/sb2.txt" || echo "?")
    sort -n "$work/lag" > "$work/lag.sorted"
    n=$(wc -l < "$work/lag.sorted")
    T[sus_p50_$r]=$(sed -n "$(( (n + 1) / 2 ))p" "$work/lag.sorted")
    T[sus_p99_$r]=$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$work/lag.sorted")
    echo "$r: sustained at ${T[sus_tps_$r]} transactions/s: lag p50 ${T[sus_p50_$r]} ms, p99 ${T[sus_p99_$r]} ms over $n samples (peak RSS ${T[sus_rss_$r]} MB)"
    line_down
done

echo
echo "copy: $TABLES x $SIZE rows; catch-up: $txns transactions; sustained: sysbench at RATE=$RATE for $TIME s"
printf '%-7s | %-29s | %-30s | %-27s\n' "RTT ms" "copy ours/mydumper (s) ratio" "catch-up ours/native (s) ratio" "sustained tps, lag p50/p99"
for r in $RTTS; do
    printf '%-7s | %6.1f / %6.1f  %5s %5s | %6.1f / %6.1f  %5s %5s | %6s tps, %s/%s ms\n' "$r" \
        "${T[copy_ours_$r]}" "${T[copy_peer_$r]}" "$(ratio "${T[copy_ours_$r]}" "${T[copy_peer_$r]}")" "${T[copy_rss_$r]}MB" \
        "${T[cu_ours_$r]}" "${T[cu_peer_$r]}" "$(ratio "${T[cu_ours_$r]}" "${T[cu_peer_$r]}")" "${T[cu_rss_$r]}MB" \
        "${T[sus_tps_$r]}" "${T[sus_p50_$r]}" "${T[sus_p99_$r]}"
done
echo "(ratio = ours / peer, lower is better; MB = our peak RSS; sustained peak RSS: $(for r in $RTTS; do printf '%s ' "${T[sus_rss_$r]}MB"; done))"
