//! MySQL binary JSON and partial-update JSON diffs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    binlog_reader::fuzzing::json(data);
});
