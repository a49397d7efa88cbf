//! GTID set, MariaDB GTID position and file position text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    binlog_reader::fuzzing::gtid_text(data);
});
