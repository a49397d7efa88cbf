//! The sans-I/O decoder: bytes in; an event, "need more bytes", or an error
//! out.
//!
//! The decoder keeps the state that reading needs, explicitly: the current
//! FORMAT_DESCRIPTION (and so the checksum algorithm), the table maps, the
//! current file name and the running offset. It never reads from anywhere:
//! the caller hands it bytes, and it says how many it used.
//!
//! ```
//! use binlog_reader::{Decoder, Step};
//! let mut d = Decoder::for_file(Some("mysql-bin.000001".into()));
//! // Too few bytes is a normal state, not an error.
//! assert!(matches!(d.decode(b"\xfebi"), Ok(Step::NeedMore { .. })));
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use crate::cursor::Cursor;
use crate::error::{DecodeError, Result};
use crate::event::*;
use crate::types::{ColumnInfo, EventType};

/// What [`Decoder::decode`] produced.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Step {
    /// The input holds no complete event yet: call again with at least
    /// `needed` bytes (counted from the start of the input given).
    NeedMore {
        /// The total input length needed for the next step.
        needed: usize,
    },
    /// The binlog magic at the start of a file was checked; `consumed` bytes
    /// of the input were used.
    Magic {
        /// Bytes used.
        consumed: usize,
    },
    /// An event; `consumed` bytes of the input were used.
    Event {
        /// The event.
        event: Event,
        /// Bytes used.
        consumed: usize,
    },
}

/// A caller-supplied description of a table's columns, used when the binlog
/// carries no optional metadata (`binlog_row_metadata=NO_LOG`, MySQL 5.7):
/// without it, integer signedness and names are unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnDescription {
    /// The column's name.
    pub name: String,
    /// Whether an integer column is unsigned.
    pub unsigned: bool,
    /// ENUM member names, when the column is an ENUM.
    pub enum_values: Option<Vec<Vec<u8>>>,
    /// SET member names, when the column is a SET.
    pub set_values: Option<Vec<Vec<u8>>>,
    /// The collation id of a character column.
    pub collation: Option<u16>,
}

/// The binlog decoder. See the module documentation.
#[derive(Debug, Clone)]
pub struct Decoder {
    limits: Limits,
    fde: Option<Arc<FormatDescriptionEvent>>,
    /// The checksum algorithm the stream was negotiated with, used before
    /// the FORMAT_DESCRIPTION says (a server stream).
    negotiated: Option<ChecksumAlg>,
    table_maps: HashMap<u64, Arc<TableMapEvent>>,
    schemas: HashMap<(String, String), Arc<Vec<ColumnDescription>>>,
    file: Option<Arc<str>>,
    /// The offset of the next byte in the current file.
    offset: u64,
    /// True when reading a file (the magic comes first and every event is in
    /// the file); false for a replication stream.
    file_mode: bool,
    magic_done: bool,
    verify_checksums: bool,
    /// Set by a START_ENCRYPTION event: (its offset, scheme, key version).
    encrypted: Option<(u64, u8, u32)>,
}

/// Table maps kept at most; past this the cache is cleared (a table map is
/// repeated before every transaction's rows, so only maps of tables not
/// written since are dropped).
const MAX_TABLE_MAPS: usize = 100_000;

impl Decoder {
    /// A decoder for a binlog file, which starts with the 4-byte magic.
    pub fn for_file(file: Option<String>) -> Self {
        Decoder {
            limits: Limits::default(),
            fde: None,
            negotiated: None,
            table_maps: HashMap::new(),
            schemas: HashMap::new(),
            file: file.map(Arc::from),
            offset: 0,
            file_mode: true,
            magic_done: false,
            verify_checksums: true,
            encrypted: None,
        }
    }

    /// A decoder for a replication stream: one event per call, no magic.
    /// `checksum` is what was negotiated with the server
    /// (`@master_binlog_checksum`), so that the events before the
    /// FORMAT_DESCRIPTION (the fake ROTATE) are read right.
    pub fn for_stream(file: Option<String>, offset: u64, checksum: ChecksumAlg) -> Self {
        Decoder {
            negotiated: Some(checksum),
            offset,
            file_mode: false,
            magic_done: true,
            ..Decoder::for_file(file)
        }
    }

    /// Starts reading a new file from its beginning (the magic first). Table
    /// maps and column descriptions are kept; the FORMAT_DESCRIPTION is the
    /// new file's own.
    pub fn start_file(&mut self, name: Option<String>) {
        self.file = name.map(Arc::from);
        self.offset = 0;
        self.magic_done = false;
        self.file_mode = true;
        self.fde = None;
        self.encrypted = None;
    }

    /// Restarts a stream at `offset` of `file` (after a reconnect), keeping
    /// the table maps and column descriptions.
    pub fn restart_stream(&mut self, file: Option<String>, offset: u64, checksum: ChecksumAlg) {
        self.file = file.map(Arc::from);
        self.offset = offset;
        self.magic_done = true;
        self.file_mode = false;
        self.negotiated = Some(checksum);
        self.fde = None;
    }

    /// Sets the limits on event and uncompressed sizes.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Turns CRC32 verification off (it is on by default). For reading a
    /// damaged file as far as it goes; never for migration.
    pub fn verify_checksums(mut self, on: bool) -> Self {
        self.verify_checksums = on;
        self
    }

    /// Supplies the columns of `schema`.`table`, used for the table maps
    /// that follow when the binlog does not carry that information.
    pub fn set_table_columns(&mut self, schema: &str, table: &str, cols: Vec<ColumnDescription>) {
        self.schemas
            .insert((schema.to_string(), table.to_string()), Arc::new(cols));
    }

    /// The current FORMAT_DESCRIPTION, once one was read.
    pub fn format_description(&self) -> Option<&FormatDescriptionEvent> {
        self.fde.as_deref()
    }

    /// The current file name, when known.
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// The offset in the current file of the next event.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The table map for `table_id`, if one was read.
    pub fn table_map(&self, table_id: u64) -> Option<&Arc<TableMapEvent>> {
        self.table_maps.get(&table_id)
    }

    /// Decodes the next thing at the start of `input`.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] naming the offset and the offending value. After a
    /// framing error (bad magic, impossible length) the decoder cannot go
    /// on; after an error inside a well-framed event (checksum, body,
    /// unknown type) the decoder has not moved, and the caller should stop:
    /// skipping the event could lose a change.
    pub fn decode(&mut self, input: &[u8]) -> Result<Step> {
        if !self.magic_done {
            let magic = b"\xfebin";
            let have = input.get(..4.min(input.len())).unwrap_or_default();
            if have != magic.get(..have.len()).unwrap_or_default() {
                return Err(DecodeError::BadMagic {
                    found: have.to_vec(),
                });
            }
            if input.len() < 4 {
                return Ok(Step::NeedMore { needed: 4 });
            }
            self.magic_done = true;
            self.offset = 4;
            return Ok(Step::Magic { consumed: 4 });
        }
        if let Some((offset, scheme, key_version)) = self.encrypted {
            if !input.is_empty() {
                return Err(DecodeError::Encrypted {
                    offset,
                    scheme,
                    key_version,
                });
            }
        }
        if input.len() < HEADER_LEN {
            return Ok(Step::NeedMore { needed: HEADER_LEN });
        }
        let at = self.offset;
        let header = EventHeader::read(&mut Cursor::new(input, at))?;
        let len = u64::from(header.event_length);
        let header_len = self
            .fde
            .as_ref()
            .map_or(HEADER_LEN, |f| usize::from(f.header_length));
        if len < header_len as u64 {
            return Err(DecodeError::BadEventLength {
                offset: at,
                length: len,
                reason: "shorter than the event header",
            });
        }
        if len > self.limits.max_event_size {
            return Err(DecodeError::BadEventLength {
                offset: at,
                length: len,
                reason: "over the largest event accepted (Limits::max_event_size)",
            });
        }
        let len = len as usize;
        let Some(bytes) = input.get(..len) else {
            return Ok(Step::NeedMore { needed: len });
        };
        let at = self.event_start(&header, at);
        let event = self.decode_event(bytes, header, header_len, at)?;
        Ok(Step::Event {
            event,
            consumed: len,
        })
    }

    /// Where an event starts in its file. In a file, the running offset. In
    /// a stream the server may leave events out (MariaDB sends ANNOTATE_ROWS
    /// only when asked), so a running offset alone drifts: the event's
    /// `end_log_pos` is used where the server wrote one, widened to 64 bits
    /// with the running offset (files can pass 4 GiB), and the running offset
    /// where it wrote 0 (MariaDB 11.4+ inside transactions, artificial events).
    fn event_start(&self, header: &EventHeader, running: u64) -> u64 {
        if self.file_mode || header.log_pos == 0 || header.is_artificial() {
            return running;
        }
        let len = u64::from(header.event_length);
        let low = u64::from(header.log_pos);
        let mut end = (running & !0xffff_ffff) | low;
        if end < running + len {
            // The 32-bit end_log_pos wrapped past a 4 GiB boundary.
            if (running + len) - end > (1 << 31) {
                end += 1 << 32;
            }
        }
        end.saturating_sub(len)
    }

    /// The checksum algorithm in force for an event of type `t`.
    fn checksum_for(&self, t: EventType, bytes: &[u8]) -> ChecksumAlg {
        if t == EventType::FORMAT_DESCRIPTION {
            // Its own algorithm byte says; handled by the caller.
            return ChecksumAlg::Undefined;
        }
        if let Some(f) = &self.fde {
            return f.checksum_alg;
        }
        if let Some(n) = self.negotiated {
            return n;
        }
        // Before any FORMAT_DESCRIPTION with nothing negotiated (the fake
        // ROTATE MariaDB sends first): the event carries a CRC32 exactly when
        // its last 4 bytes are the CRC32 of the rest.
        if bytes.len() >= HEADER_LEN + 4 {
            let (body, crc) = bytes.split_at(bytes.len() - 4);
            let stored = u32::from_le_bytes(crc.try_into().unwrap_or([0; 4]));
            if crc32fast::hash(body) == stored {
                return ChecksumAlg::Crc32;
            }
        }
        ChecksumAlg::Off
    }

    fn verify(&self, bytes: &[u8], at: u64, t: EventType) -> Result<()> {
        if !self.verify_checksums {
            return Ok(());
        }
        let n = bytes.len().saturating_sub(4);
        let (body, crc) = bytes.split_at(n);
        // The server sets LOG_EVENT_BINLOG_IN_USE_F in the FORMAT_DESCRIPTION
        // of an open file after computing its checksum, and clears it on
        // close: the checksum is over the header with that flag cleared.
        let fixed;
        let body = if t == EventType::FORMAT_DESCRIPTION
            && body
                .get(17)
                .is_some_and(|f| f & (LOG_EVENT_BINLOG_IN_USE_F as u8) != 0)
        {
            let mut v = body.to_vec();
            if let Some(f) = v.get_mut(17) {
                *f &= !(LOG_EVENT_BINLOG_IN_USE_F as u8);
            }
            fixed = v;
            &fixed[..]
        } else {
            body
        };
        let stored = match crc {
            [a, b, c, d] => u32::from_le_bytes([*a, *b, *c, *d]),
            _ => {
                return Err(DecodeError::Truncated {
                    what: "event checksum",
                    offset: at,
                    needed: 4,
                    available: crc.len() as u64,
                })
            }
        };
        let actual = crc32fast::hash(body);
        if actual != stored {
            return Err(DecodeError::ChecksumMismatch {
                offset: at,
                event_type: t.name(),
                expected: stored,
                actual,
            });
        }
        Ok(())
    }

    fn decode_event(
        &mut self,
        bytes: &[u8],
        header: EventHeader,
        header_len: usize,
        at: u64,
    ) -> Result<Event> {
        let t = header.event_type;
        // Decide which bytes are the body: without the header, and without
        // the checksum when there is one.
        let alg = self.checksum_for(t, bytes);
        let body_end = if alg == ChecksumAlg::Crc32 {
            if bytes.len() < header_len + 4 {
                return Err(DecodeError::BadEventLength {
                    offset: at,
                    length: bytes.len() as u64,
                    reason: "too short to hold the header and a CRC32",
                });
            }
            self.verify(bytes, at, t)?;
            bytes.len() - 4
        } else {
            bytes.len()
        };
        let body = bytes.get(header_len..body_end).unwrap_or_default();
        let body_at = at + header_len as u64;
        let mut c = Cursor::new(body, body_at);

        // Where this event ends in its file. Artificial events (fake ROTATE,
        // the FORMAT_DESCRIPTION resent when a stream starts mid-file,
        // heartbeats) are not in the file and do not move the offset.
        let in_file = self.file_mode
            || !(header.is_artificial()
                || t == EventType::HEARTBEAT
                || t == EventType::HEARTBEAT_V2
                || (header.log_pos == 0
                    && matches!(
                        t,
                        EventType::ROTATE
                            | EventType::FORMAT_DESCRIPTION
                            | EventType::MARIADB_GTID_LIST
                            | EventType::MARIADB_BINLOG_CHECKPOINT
                    ))
                || (t == EventType::FORMAT_DESCRIPTION && self.offset > 4));
        let end = if in_file { at + bytes.len() as u64 } else { at };

        let body = match t {
            EventType::FORMAT_DESCRIPTION => {
                let fde = read_fde(&mut c, bytes.len())?;
                if fde.checksum_alg == ChecksumAlg::Crc32 {
                    self.verify(bytes, at, t)?;
                }
                let fde = Arc::new(fde);
                self.fde = Some(fde.clone());
                EventBody::FormatDescription((*fde).clone())
            }
            EventType::START_EVENT_V3 => {
                let binlog_version = c.u16_le("binlog version")?;
                let server_version = c_string(c.bytes(50, "server version")?);
                let created = c.u32_le("create timestamp")?;
                let fde = FormatDescriptionEvent::v3(server_version, created, binlog_version);
                self.fde = Some(Arc::new(fde.clone()));
                EventBody::FormatDescription(fde)
            }
            EventType::ROTATE => {
                let r = read_rotate(&mut c, self.fde.as_deref(), &header)?;
                EventBody::Rotate(r)
            }
            EventType::HEARTBEAT => EventBody::Heartbeat(HeartbeatEvent {
                log_file: lossy(c.rest()),
                position: u64::from(header.log_pos),
            }),
            EventType::HEARTBEAT_V2 => EventBody::Heartbeat(read_heartbeat_v2(&mut c)?),
            EventType::MARIADB_START_ENCRYPTION => {
                let scheme = c.u8("encryption scheme")?;
                let key_version = c.u32_le("encryption key version")?;
                // The event itself is readable; every later one in this file
                // is encrypted and is refused.
                self.encrypted = Some((at, scheme, key_version));
                EventBody::MariadbStartEncryption {
                    scheme,
                    key_version,
                }
            }
            _ => {
                let fde = self.fde.clone().ok_or(DecodeError::NoFormatDescription {
                    offset: at,
                    event_type: t.name(),
                })?;
                self.decode_body(&mut c, &fde, &header, at)?
            }
        };

        // The file the event is in (a real ROTATE is in the file it ends).
        let file = self.file.clone();
        // State changes that follow the event.
        if let (EventBody::Rotate(r), false) = (&body, self.file_mode) {
            self.file = Some(Arc::from(r.next_file.as_str()));
            // A real ROTATE ends the file; a fake one names where the stream
            // starts. Either way the next event is at `position` of
            // `next_file`. Table maps survive (design rule 5).
            self.offset = r.position;
        } else {
            self.offset = end;
        }
        let file = if end == at { self.file.clone() } else { file };
        Ok(Event {
            file,
            pos: at,
            end_pos: end,
            header,
            body,
        })
    }

    fn decode_body(
        &mut self,
        c: &mut Cursor<'_>,
        fde: &FormatDescriptionEvent,
        header: &EventHeader,
        at: u64,
    ) -> Result<EventBody> {
        let t = header.event_type;
        Ok(match t {
            EventType::QUERY => EventBody::Query(read_query(c, fde, false, &self.limits)?),
            EventType::MARIADB_QUERY_COMPRESSED => {
                EventBody::Query(read_query(c, fde, true, &self.limits)?)
            }
            EventType::XID => EventBody::Xid(XidEvent {
                xid: c.u64_le("XID")?,
            }),
            EventType::TABLE_MAP => {
                let mut tm = read_table_map(c, fde)?;
                self.apply_schema(&mut tm, at)?;
                let tm = Arc::new(tm);
                if self.table_maps.len() >= MAX_TABLE_MAPS {
                    self.table_maps.clear();
                }
                self.table_maps.insert(tm.table_id, tm.clone());
                EventBody::TableMap(tm)
            }
            EventType::ROWS_QUERY => {
                // One length byte (ignored by the servers: the text runs to the
                // end of the event), then the statement.
                c.skip(1, "ROWS_QUERY length")?;
                EventBody::RowsQuery(RowsQueryEvent {
                    query: c.rest().to_vec(),
                })
            }
            EventType::MARIADB_ANNOTATE_ROWS => EventBody::RowsQuery(RowsQueryEvent {
                query: c.rest().to_vec(),
            }),
            EventType::GTID => EventBody::Gtid(read_gtid(c, false)?),
            EventType::ANONYMOUS_GTID => EventBody::Gtid(read_gtid(c, true)?),
            EventType::GTID_TAGGED => EventBody::Gtid(read_gtid_tagged(c)?),
            EventType::PREVIOUS_GTIDS => EventBody::PreviousGtids(read_previous_gtids(c)?),
            EventType::TRANSACTION_PAYLOAD => {
                EventBody::TransactionPayload(self.read_payload(c, fde, at)?)
            }
            EventType::XA_PREPARE => EventBody::XaPrepare(read_xa_prepare(c)?),
            EventType::INTVAR => EventBody::IntVar(IntVarEvent {
                var_type: c.u8("INTVAR type")?,
                value: c.u64_le("INTVAR value")?,
            }),
            EventType::RAND => EventBody::Rand(RandEvent {
                seed1: c.u64_le("RAND seed1")?,
                seed2: c.u64_le("RAND seed2")?,
            }),
            EventType::USER_VAR => EventBody::UserVar(read_user_var(c)?),
            EventType::INCIDENT => {
                let incident = c.u16_le("incident type")?;
                let n = c.u8("incident message length")?;
                let message = lossy(c.bytes(usize::from(n), "incident message")?);
                EventBody::Incident(IncidentEvent { incident, message })
            }
            EventType::STOP => EventBody::Stop,
            EventType::MARIADB_GTID => {
                EventBody::MariadbGtid(read_mariadb_gtid(c, header.server_id)?)
            }
            EventType::MARIADB_GTID_LIST => EventBody::MariadbGtidList(read_mariadb_gtid_list(c)?),
            EventType::MARIADB_BINLOG_CHECKPOINT => {
                let n = c.u32_le("checkpoint file name length")?;
                let file = lossy(c.bytes_u64(u64::from(n), "checkpoint file name")?);
                EventBody::MariadbBinlogCheckpoint(BinlogCheckpointEvent { file })
            }
            EventType::LOAD
            | EventType::SLAVE
            | EventType::CREATE_FILE
            | EventType::APPEND_BLOCK
            | EventType::EXEC_LOAD
            | EventType::DELETE_FILE
            | EventType::NEW_LOAD
            | EventType::BEGIN_LOAD_QUERY
            | EventType::EXECUTE_LOAD_QUERY
            | EventType::PRE_GA_WRITE_ROWS
            | EventType::PRE_GA_UPDATE_ROWS
            | EventType::PRE_GA_DELETE_ROWS
            | EventType::IGNORABLE
            | EventType::TRANSACTION_CONTEXT
            | EventType::VIEW_CHANGE => {
                let rest = c.rest();
                EventBody::Other {
                    body: rest
                        .get(..rest.len().min(4096))
                        .unwrap_or_default()
                        .to_vec(),
                }
            }
            _ => {
                if let Some(h) = rows_header(t) {
                    let table_id = rows_table_id(&mut c.clone(), fde, t)?;
                    let table = self.table_maps.get(&table_id).cloned().ok_or(
                        DecodeError::UnknownTable {
                            offset: at,
                            table_id,
                        },
                    )?;
                    EventBody::Rows(read_rows(c, fde, t, h, table, &self.limits)?)
                } else {
                    let all = c.rest();
                    return Err(DecodeError::UnknownEvent {
                        offset: at,
                        type_code: t.0,
                        length: u64::from(header.event_length),
                        bytes: all.get(..all.len().min(4096)).unwrap_or_default().to_vec(),
                    });
                }
            }
        })
    }

    /// Fills in what the caller supplied for this table, where the binlog
    /// said nothing.
    fn apply_schema(&self, tm: &mut TableMapEvent, at: u64) -> Result<()> {
        let Some(desc) = self.schemas.get(&(tm.schema.clone(), tm.table.clone())) else {
            return Ok(());
        };
        if desc.len() != tm.columns.len() {
            return Err(DecodeError::Invalid {
                what: "caller-supplied column description",
                offset: at,
                value: desc.len() as u64,
                reason: "its column count differs from the table map's: the schema changed; supply the description valid at this position",
            });
        }
        for (col, d) in tm.columns.iter_mut().zip(desc.iter()) {
            fill(col, d);
        }
        Ok(())
    }

    /// TRANSACTION_PAYLOAD: a header of (type, length, value) fields as
    /// length-encoded integers, then the payload; zstd (0) or none (255).
    /// Decompression is bounded by the declared size and the limits.
    fn read_payload(
        &mut self,
        c: &mut Cursor<'_>,
        fde: &FormatDescriptionEvent,
        at: u64,
    ) -> Result<TransactionPayloadEvent> {
        let mut payload_size = None;
        let mut compression_type = None;
        let mut uncompressed_size = 0;
        loop {
            let ft = c.lenenc_int("payload header field type")?;
            if ft == 0 {
                break;
            }
            let flen = c.lenenc_int("payload header field length")?;
            let f_at = c.offset();
            let v = c.bytes_u64(flen, "payload header field")?;
            let val = Cursor::new(v, f_at).lenenc_int("payload header field value")?;
            match ft {
                1 => payload_size = Some(val),
                2 => compression_type = Some(val),
                3 => uncompressed_size = val,
                _ => {}
            }
        }
        let (Some(payload_size), Some(compression_type)) = (payload_size, compression_type) else {
            return Err(DecodeError::Invalid {
                what: "TRANSACTION_PAYLOAD header",
                offset: at,
                value: 0,
                reason: "the payload size or the compression type is missing",
            });
        };
        let p_at = c.offset();
        let payload = c.bytes_u64(payload_size, "transaction payload")?;
        if uncompressed_size > self.limits.max_uncompressed_size {
            return Err(DecodeError::TooLarge {
                what: "uncompressed transaction payload",
                offset: at,
                value: uncompressed_size,
                limit: self.limits.max_uncompressed_size,
            });
        }
        let data = match compression_type {
            0 => zstd_bounded(payload, uncompressed_size, p_at)?,
            255 => payload.to_vec(),
            other => {
                return Err(DecodeError::Invalid {
                    what: "transaction payload compression type",
                    offset: at,
                    value: other,
                    reason: "known types are 0 (zstd) and 255 (none)",
                })
            }
        };
        // The events inside have headers and no checksums.
        let mut events = Vec::new();
        let mut rest: &[u8] = &data;
        while !rest.is_empty() {
            let mut hc = Cursor::new(rest, at);
            let header = EventHeader::read(&mut hc)?;
            let len = header.event_length as usize;
            if len < HEADER_LEN || len > rest.len() {
                return Err(DecodeError::BadEventLength {
                    offset: at,
                    length: len as u64,
                    reason: "an event inside the transaction payload overruns it",
                });
            }
            let (ev_bytes, tail) = rest.split_at(len);
            rest = tail;
            let body = ev_bytes.get(HEADER_LEN..).unwrap_or_default();
            let mut bc = Cursor::new(body, at);
            let b = match header.event_type {
                EventType::TRANSACTION_PAYLOAD => {
                    return Err(DecodeError::Invalid {
                        what: "event inside a transaction payload",
                        offset: at,
                        value: u64::from(EventType::TRANSACTION_PAYLOAD.0),
                        reason: "payloads do not nest",
                    })
                }
                _ => self.decode_body(&mut bc, fde, &header, at)?,
            };
            events.push(Event {
                file: self.file.clone(),
                pos: at,
                end_pos: at,
                header,
                body: b,
            });
        }
        Ok(TransactionPayloadEvent {
            compression_type,
            payload_size,
            uncompressed_size,
            events,
        })
    }
}

fn fill(col: &mut ColumnInfo, d: &ColumnDescription) {
    if col.column_type.0.is_integer() && col.unsigned.is_none() {
        col.unsigned = Some(d.unsigned);
    }
    if col.name.is_none() && !d.name.is_empty() {
        col.name = Some(d.name.clone());
    }
    if col.enum_values.is_none() {
        col.enum_values.clone_from(&d.enum_values);
    }
    if col.set_values.is_none() {
        col.set_values.clone_from(&d.set_values);
    }
    if col.collation.is_none() {
        col.collation = d.collation;
    }
}

/// Decompresses zstd into at most `declared` bytes (and never more than the
/// limit the caller checked), failing when the stream holds more or less.
fn zstd_bounded(payload: &[u8], declared: u64, at: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let err = |reason: String| DecodeError::Decompress {
        what: "transaction payload (zstd)",
        offset: at,
        reason,
    };
    let dec = zstd::stream::read::Decoder::new(payload).map_err(|e| err(e.to_string()))?;
    let mut out = Vec::with_capacity(usize::try_from(declared.min(1 << 20)).unwrap_or(0));
    dec.take(declared.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| err(e.to_string()))?;
    if out.len() as u64 != declared {
        return Err(err(format!(
            "the header declares {declared} uncompressed bytes but the stream holds {}",
            if out.len() as u64 > declared {
                format!("more than {declared}")
            } else {
                out.len().to_string()
            }
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ColumnType;

    /// One event: header (timestamp 1, server 1, end_log_pos 0) and body.
    fn event(t: EventType, body: &[u8]) -> Vec<u8> {
        let len = (HEADER_LEN + body.len()) as u32;
        let mut v = Vec::new();
        v.extend_from_slice(&1u32.to_le_bytes());
        v.push(t.0);
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&0u16.to_le_bytes());
        v.extend_from_slice(body);
        v
    }

    /// A FORMAT_DESCRIPTION of a MariaDB 10.11 server with checksums off.
    fn fde() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&4u16.to_le_bytes());
        let mut ver = b"10.11.19-MariaDB-log".to_vec();
        ver.resize(50, 0);
        b.extend_from_slice(&ver);
        b.extend_from_slice(&0u32.to_le_bytes());
        b.push(19);
        let mut post = vec![0u8; 171];
        post[usize::from(EventType::TABLE_MAP.0) - 1] = 8;
        post[usize::from(EventType::WRITE_ROWS_V1.0) - 1] = 8;
        b.extend_from_slice(&post);
        b.push(0); // checksum off
        b.extend_from_slice(&[0; 4]);
        event(EventType::FORMAT_DESCRIPTION, &b)
    }

    fn decode_all(d: &mut Decoder, mut input: &[u8]) -> Result<Vec<Event>> {
        let mut out = Vec::new();
        loop {
            match d.decode(input)? {
                Step::Event { event, consumed } => {
                    out.push(event);
                    input = &input[consumed..];
                }
                Step::Magic { consumed } => input = &input[consumed..],
                Step::NeedMore { .. } => return Ok(out),
            }
        }
    }

    #[test]
    fn a_rows_event_with_no_column_present_is_an_error_not_an_endless_loop() {
        // Found by the decode_stream_event fuzz target: zero-byte rows.
        let mut d = Decoder::for_stream(Some("x-bin.000001".into()), 4, ChecksumAlg::Off);
        let mut tm = vec![7, 0, 0, 0, 0, 0, 0, 0]; // table id 7, flags
        tm.extend_from_slice(&[1, b'd', 0, 1, b't', 0]);
        tm.extend_from_slice(&[1, ColumnType::LONG.0, 0, 0]); // 1 INT column, no metadata, not null
        let mut rows = vec![7, 0, 0, 0, 0, 0, 1, 0]; // table id 7, STMT_END
        rows.extend_from_slice(&[1, 0]); // 1 column, none present
        rows.extend_from_slice(&[0; 32]); // "rows"
        let mut input = fde();
        input.extend(event(EventType::TABLE_MAP, &tm));
        input.extend(event(EventType::WRITE_ROWS_V1, &rows));
        let err = decode_all(&mut d, &input).err();
        assert!(
            matches!(
                err,
                Some(DecodeError::Invalid {
                    what: "rows event column-present bitmap",
                    ..
                })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_table_map_over_4096_columns_is_refused() {
        let mut d = Decoder::for_stream(None, 4, ChecksumAlg::Off);
        let mut tm = vec![7, 0, 0, 0, 0, 0, 0, 0];
        tm.extend_from_slice(&[1, b'd', 0, 1, b't', 0]);
        tm.extend_from_slice(&[0xfc, 0x01, 0x10]); // 4097 columns
        tm.extend(std::iter::repeat_n(ColumnType::TINY.0, 4097));
        tm.push(0);
        tm.extend(std::iter::repeat_n(0u8, 513));
        let mut input = fde();
        input.extend(event(EventType::TABLE_MAP, &tm));
        let err = decode_all(&mut d, &input).err();
        assert!(
            matches!(err, Some(DecodeError::Invalid { value: 4097, .. })),
            "{err:?}"
        );
    }

    #[test]
    fn heartbeats_name_the_source_position_and_do_not_move_the_stream() {
        // A stream at offset 1000 of x-bin.000001; the heartbeats come
        // from the server (artificial, end_log_pos 0 for v1), with the
        // source's file and position: HEARTBEAT's in the header and body,
        // HEARTBEAT_V2's (MySQL 8.0.26+) as (type, length, value) fields:
        // 1 the file name, 2 the position, length-encoded.
        let mut d = Decoder::for_stream(Some("x-bin.000001".into()), 1000, ChecksumAlg::Off);
        let mut input = fde();
        input.extend(event(EventType::HEARTBEAT, b"x-bin.000002"));
        let mut v2 = vec![1, 12];
        v2.extend_from_slice(b"x-bin.000002");
        v2.extend_from_slice(&[2, 4, 0xfd, 0x40, 0x42, 0x0f, 0]);
        input.extend(event(EventType::HEARTBEAT_V2, &v2));
        let evs = decode_all(&mut d, &input).unwrap();
        let hb: Vec<(&HeartbeatEvent, u64, u64)> = evs
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::Heartbeat(h) => Some((h, e.pos, e.end_pos)),
                _ => None,
            })
            .collect();
        assert_eq!(hb.len(), 2);
        assert_eq!(hb[0].0.log_file, "x-bin.000002");
        assert_eq!(
            (hb[1].0.log_file.as_str(), hb[1].0.position),
            ("x-bin.000002", 1_000_000)
        );
        // Not in the file: they take no room in it.
        for (_, pos, end) in &hb {
            assert_eq!(pos, end);
        }
        assert_eq!(d.offset(), hb[1].1);
    }

    #[test]
    fn truncated_input_is_need_more_at_every_cut() {
        let mut input = fde();
        input.extend(event(EventType::XID, &42u64.to_le_bytes()));
        for cut in 0..input.len() {
            let mut d = Decoder::for_stream(None, 4, ChecksumAlg::Off);
            // Any prefix decodes without error: incomplete is not corrupt.
            assert!(decode_all(&mut d, &input[..cut]).is_ok(), "cut at {cut}");
        }
        let mut d = Decoder::for_stream(None, 4, ChecksumAlg::Off);
        let evs = decode_all(&mut d, &input).ok().unwrap_or_default();
        assert!(matches!(
            evs.last().map(|e| &e.body),
            Some(EventBody::Xid(XidEvent { xid: 42 }))
        ));
    }
}
