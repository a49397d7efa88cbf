//! Whole events as JSON: the lines of `dts binlog dump --json`.

use crate::Event;

/// An event as one JSON object, the line `dts binlog dump --json` prints:
/// its position (`pos`, `end_pos`, and `file` when known, else `null`),
/// its header (`type` by name, `type_code`, `timestamp`, `server_id`,
/// `log_pos`, `flags`) and its `body` (tagged by `kind`; row values as
/// described on [`Value`](crate::Value)). Keys are in alphabetical order.
///
/// ```
/// use binlog_reader::event::{EventBody, EventHeader};
/// use binlog_reader::{Event, EventType};
///
/// let ev = Event {
///     file: None,
///     pos: 4,
///     end_pos: 23,
///     header: EventHeader {
///         timestamp: 0,
///         event_type: EventType::STOP,
///         server_id: 1,
///         event_length: 19,
///         log_pos: 23,
///         flags: 0,
///     },
///     body: EventBody::Stop,
/// };
/// assert_eq!(
///     binlog_reader::render::event_json(&ev).to_string(),
///     r#"{"body":{"kind":"stop"},"end_pos":23,"file":null,"flags":0,"log_pos":23,"pos":4,"server_id":1,"timestamp":0,"type":"STOP","type_code":3}"#
/// );
/// ```
pub fn event_json(ev: &Event) -> serde_json::Value {
    serde_json::json!({
        "pos": ev.pos,
        "end_pos": ev.end_pos,
        "type": ev.header.event_type.name(),
        "type_code": ev.header.event_type.0,
        "file": ev.file.as_deref(),
        "timestamp": ev.header.timestamp,
        "server_id": ev.header.server_id,
        "log_pos": ev.header.log_pos,
        "flags": ev.header.flags,
        "body": &ev.body,
    })
}
