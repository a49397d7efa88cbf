//! Every event body decoder, reached directly: the input picks the event
//! types and their bodies after a synthetic FORMAT_DESCRIPTION.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    binlog_reader::fuzzing::event_body(data);
});
