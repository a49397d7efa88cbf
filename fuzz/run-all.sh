#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, two at a time, with
# corpora seeded from MariaDB's test binlogs. Needs cargo-fuzz and a nightly
# toolchain (or RUSTC_BOOTSTRAP=1 with stable). Summary: fuzz/run-all.log.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
secs=${SECONDS_PER_TARGET:-600}
tc=${FUZZ_TOOLCHAIN:-+nightly}
for t in decode_file decode_stream_event row_value json_binary gtid_text event_body; do mkdir -p corpus/$t; done
for f in $(grep -rl --binary-files=binary -m1 $'\xfebin' /usr/share/mysql/mysql-test/std_data /usr/share/mysql/mysql-test/suite/binlog/std_data 2>/dev/null); do
    if [ "$(head -c4 "$f" | od -An -tx1 | tr -d ' ')" = "fe62696e" ]; then
        cp "$f" corpus/decode_file/ 2>/dev/null
        { printf '\x01'; tail -c +5 "$f"; } > "corpus/decode_stream_event/$(basename "$f")"
    fi
done
printf '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7,3e11fa47-71ca-11e1-9e33-c80aa9429562:tag_a:1' > corpus/gtid_text/seed1
printf '0-1-100,1-2-5' > corpus/gtid_text/seed2
cargo $tc fuzz build -O 2>&1 | tail -2
run() {
    local t=$1
    local start=$(date +%s)
    cargo $tc fuzz run -O "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 > "run-$t.log" 2>&1
    local rc=$?
    local stats
    stats=$(grep -E "^#[0-9]+.*(DONE|pulse)" "run-$t.log" | tail -1)
    echo "$t: exit $rc after $(( $(date +%s) - start )) s; $stats" >> run-all.log
}
: > run-all.log
run decode_file & run decode_stream_event & wait
run row_value & run json_binary & wait
run gtid_text & run event_body & wait
cat run-all.log
