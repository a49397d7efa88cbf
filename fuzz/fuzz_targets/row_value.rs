//! One row value of any column type and metadata (the first 3 bytes choose
//! them).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    binlog_reader::fuzzing::row_value(data);
});
