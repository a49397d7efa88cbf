//! A whole binlog file: the decoder must never panic, hang or over-allocate,
//! and must make progress on every step.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    binlog_reader::fuzzing::decode_all_file(data);
});
