//! One event as a replication stream delivers it (no magic), with and
//! without CRC32 negotiated; events after a format description included.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    binlog_reader::fuzzing::decode_all_stream(data);
});
