//! The oracle: a binlog file read by mysql_common (an implementation of
//! MySQL's layouts independent of ours and of the writer's), turned into
//! [`Entry`] values to compare with what the writer recorded.
//!
//! Besides parsing every event with mysql_common's type-specific reader
//! (which refuses bytes left over), it checks the framing mysql_common
//! itself does not: every event's CRC32 against the stored one, every
//! `log_pos` against the event's real end offset, and inside a
//! TRANSACTION_PAYLOAD that events carry `log_pos` 0 and no checksum.
//!
//! Only the mapping of mysql_common's value representations to [`Value`]
//! happens here, by the column types of mysql_common's own table map; two
//! of mysql_common's renderings are mapped back (see [`read`]).

use std::io::BufRead;

use mysql_common::binlog::consts::{BinlogChecksumAlg, BinlogVersion, EventType};
use mysql_common::binlog::events::{Event, OptionalMetadataField, RowsEventData, TableMapEvent};
use mysql_common::binlog::events::{EventData, StatusVarVal};
use mysql_common::binlog::jsonb;
use mysql_common::binlog::jsondiff::JsonDiffOperation;
use mysql_common::binlog::row::BinlogRow;
use mysql_common::binlog::value::BinlogValue;
use mysql_common::binlog::EventStreamReader;
use mysql_common::constants::{ColumnFlags, ColumnType};
use mysql_common::value::Value as MyValue;

use super::entry::{
    Entry, GtidEntry, Image, OptionalMetadata, PayloadEntry, QueryEntry, QueryStatus, RowChange,
    RowsEntry, RowsKind, TableMapEntry,
};
use super::gtid::{Gtid, GtidSet};
use super::json::{Json, JsonDiff, JsonDiffOp};
use super::value::Value;

/// Reads a whole binlog file with mysql_common.
///
/// Values map to [`Value`] by the column's type in mysql_common's table
/// map and the UNSIGNED flag mysql_common resolved from the SIGNEDNESS
/// metadata (mysql_common counts YEAR columns as numeric, MySQL does not:
/// the flags of numeric columns after a YEAR are shifted, so a test table
/// keeps YEAR after its numeric columns; the SIGNEDNESS field itself is
/// reported with MySQL's count). Three of mysql_common's renderings are mapped back to what
/// MySQL stores: a YEAR byte 0 (the zero year, which mysql_common prints as
/// "1900") is `Value::Year(0)`; a TIMESTAMP text "seconds[.micros]" is
/// split; a signed MEDIUMINT, which mysql_common 0.37.3 reads without sign
/// extension, is sign-extended.
///
/// # Errors
///
/// A message naming the offset and what was wrong: an event mysql_common
/// cannot parse (or leaves bytes of), a CRC32 mismatch, a wrong `log_pos`.
pub fn read(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let Some(rest) = bytes.strip_prefix(b"\xfebin") else {
        return Err("no binlog magic at offset 0".into());
    };
    let mut reader = EventStreamReader::new(BinlogVersion::Version4);
    let mut input: &[u8] = rest;
    let mut out = Vec::new();
    while !input.is_empty() {
        let at = (bytes.len() - input.len()) as u64;
        if input.len() < 19 {
            return Err(format!(
                "{} bytes at offset {at} are too few for an event",
                input.len()
            ));
        }
        let size = u32::from_le_bytes([input[9], input[10], input[11], input[12]]) as usize;
        if size < 19 || size > input.len() {
            return Err(format!(
                "the event at {at} declares {size} bytes, {} remain",
                input.len()
            ));
        }
        let ev = reader
            .read(&mut input)
            .map_err(|e| format!("mysql_common cannot read the event at {at}: {e}"))?
            .ok_or_else(|| format!("no event at {at}"))?;
        let end = at + size as u64;
        if u64::from(ev.header().log_pos()) != end & 0xffff_ffff {
            return Err(format!(
                "the event at {at} has log_pos {}, its end is {end}",
                ev.header().log_pos()
            ));
        }
        check_checksum(&ev, at)?;
        out.push(entry(&ev, &mut reader, at)?);
    }
    Ok(out)
}

/// Checks the stored CRC32 of a file event against the computed one.
fn check_checksum(ev: &Event, at: u64) -> Result<(), String> {
    let alg = ev
        .footer()
        .get_checksum_alg()
        .map_err(|e| format!("at {at}: {e}"))?;
    let is_fde = ev.header().event_type_raw() == EventType::FORMAT_DESCRIPTION_EVENT as u8;
    let Some(stored) = ev.checksum() else {
        return Ok(());
    };
    if alg == Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32) || is_fde {
        let computed = ev.calc_checksum(alg.unwrap_or(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_OFF));
        if computed != u32::from_le_bytes(stored) {
            return Err(format!(
                "the event at {at} stores CRC32 {:#010x}, its bytes give {computed:#010x}",
                u32::from_le_bytes(stored)
            ));
        }
    }
    Ok(())
}

fn entry(ev: &Event, reader: &mut EventStreamReader, at: u64) -> Result<Entry, String> {
    let err = |e: std::io::Error| format!("mysql_common cannot parse the event at {at}: {e}");
    let code = ev.header().event_type_raw();
    let data = ev.read_data().map_err(err)?;
    let Some(data) = data else {
        return Ok(Entry::Other {
            type_code: code,
            body: ev.data().to_vec(),
        });
    };
    Ok(match data {
        EventData::FormatDescriptionEvent(f) => Entry::FormatDescription {
            server_version: f.server_version().trim_end_matches('\0').to_owned(),
            checksum: ev.footer().get_checksum_alg().ok().flatten()
                == Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32),
        },
        EventData::PreviousGtidsEvent(p) => {
            let mut set = GtidSet::new();
            for sid in p.sids() {
                let tag = sid.tag().map(|t| t.as_str().to_owned());
                for iv in sid.intervals() {
                    if iv.end() > iv.start() {
                        set.add_interval(sid.uuid(), tag.as_deref(), iv.start(), iv.end() - 1);
                    }
                }
            }
            Entry::PreviousGtids(set.to_string())
        }
        EventData::GtidEvent(g) => Entry::Gtid(gtid_entry(&g, code)),
        EventData::AnonymousGtidEvent(g) => Entry::Gtid(gtid_entry(&g.0, code)),
        EventData::QueryEvent(q) => {
            let mut status = QueryStatus::default();
            for var in q.status_vars().iter() {
                match var.get_value() {
                    Ok(StatusVarVal::Flags2(f)) => status.flags2 = Some(f.0),
                    Ok(StatusVarVal::SqlMode(m)) => status.sql_mode = Some(m.0),
                    Ok(StatusVarVal::CatalogNz(c)) => {
                        status.catalog = Some(c.as_str().into_owned())
                    }
                    Ok(StatusVarVal::Charset {
                        charset_client,
                        collation_connection,
                        collation_server,
                    }) => {
                        status.charset =
                            Some((charset_client, collation_connection, collation_server))
                    }
                    Ok(StatusVarVal::TimeZone(t)) => {
                        status.time_zone = Some(t.as_str().into_owned())
                    }
                    Ok(StatusVarVal::TableMapForUpdate(t)) => status.table_map_for_update = Some(t),
                    Ok(StatusVarVal::UpdatedDbNames(n)) => {
                        status.updated_db_names =
                            Some(n.iter().map(|x| x.as_str().into_owned()).collect());
                    }
                    Ok(StatusVarVal::DdlLoggedWithXid(x)) => status.ddl_xid = Some(x),
                    Ok(StatusVarVal::DefaultCollationForUtf8mb4(c)) => {
                        status.default_collation_for_utf8mb4 = Some(c);
                    }
                    Ok(StatusVarVal::SqlRequirePrimaryKey(r)) => {
                        status.sql_require_primary_key = Some(r)
                    }
                    Ok(other) => {
                        return Err(format!(
                        "the QUERY at {at} has a status variable the writer never sets: {other:?}"
                    ))
                    }
                    Err(raw) => {
                        return Err(format!(
                            "the QUERY at {at} has an unreadable status variable: {raw:?}"
                        ))
                    }
                }
            }
            Entry::Query(QueryEntry {
                thread_id: q.thread_id(),
                schema: q.schema().into_owned(),
                query: q.query_raw().to_vec(),
                status,
            })
        }
        EventData::TableMapEvent(t) => Entry::TableMap(table_map_entry(&t, ev.data(), at)?),
        EventData::RowsEvent(r) => {
            let tme = reader
                .get_tme(r.table_id())
                .ok_or_else(|| {
                    format!(
                        "the rows event at {at} names table id {} with no table map",
                        r.table_id()
                    )
                })?
                .clone();
            Entry::Rows(rows_entry(&r, &tme, code, ev.data(), at)?)
        }
        EventData::XidEvent(x) => Entry::Xid(x.xid),
        EventData::RotateEvent(r) => Entry::Rotate {
            position: r.position(),
            next: r.name().into_owned(),
        },
        EventData::StopEvent => Entry::Stop,
        EventData::TransactionPayloadEvent(p) => {
            let mut payload = p.decompressed().map_err(err)?;
            let mut events = Vec::new();
            while payload.has_data_left().map_err(err)? {
                let head = payload.fill_buf().map_err(err)?;
                if head.len() >= 17 {
                    let pos = u32::from_le_bytes([head[13], head[14], head[15], head[16]]);
                    if pos != 0 {
                        return Err(format!(
                            "an event inside the payload at {at} has log_pos {pos}, not 0"
                        ));
                    }
                }
                let inner = reader
                    .read_decompressed(&mut payload)
                    .map_err(|e| {
                        format!("mysql_common cannot read an event inside the payload at {at}: {e}")
                    })?
                    .ok_or_else(|| format!("the payload at {at} ends inside an event"))?;
                events.push(entry(&inner, reader, at)?);
            }
            Entry::Payload(PayloadEntry {
                compression_type: p.algorithm() as u8,
                uncompressed_size: p.uncompressed_size(),
                events,
            })
        }
        _ => Entry::Other {
            type_code: code,
            body: ev.data().to_vec(),
        },
    })
}

fn gtid_entry(g: &mysql_common::binlog::events::GtidEvent, code: u8) -> GtidEntry {
    let gtid = if code == EventType::ANONYMOUS_GTID_EVENT as u8 {
        Gtid::Anonymous
    } else if let Some(tag) = g.tag() {
        Gtid::Tagged {
            sid: g.sid(),
            tag: tag.as_str().to_owned(),
            gno: g.gno(),
        }
    } else {
        Gtid::Uuid {
            sid: g.sid(),
            gno: g.gno(),
        }
    };
    GtidEntry {
        gtid,
        flags: g.flags_raw(),
        last_committed: g.last_committed(),
        sequence_number: g.sequence_number(),
        immediate_commit_timestamp: g.immediate_commit_timestamp(),
        original_commit_timestamp: g.original_commit_timestamp(),
        transaction_length: g.tx_length(),
        immediate_server_version: g.immediate_server_version(),
        original_server_version: g.original_server_version(),
    }
}

fn table_map_entry(t: &TableMapEvent<'_>, raw: &[u8], at: u64) -> Result<TableMapEntry, String> {
    let n = t.columns_count() as usize;
    let nulls = t.null_bitmask();
    let mut columns = Vec::with_capacity(n);
    for i in 0..n {
        let ty = t
            .get_raw_column_type(i)
            .map_err(|e| format!("TABLE_MAP at {at}, column {i}: {e}"))?
            .ok_or_else(|| format!("TABLE_MAP at {at} has no type for column {i}"))?;
        let meta = t
            .get_column_metadata(i)
            .ok_or_else(|| format!("TABLE_MAP at {at} has no metadata for column {i}"))?;
        columns.push((ty as u8, meta.to_vec(), nulls[i]));
    }
    let mut m = OptionalMetadata::default();
    for field in t.iter_optional_meta() {
        let field = field.map_err(|e| format!("TABLE_MAP at {at}: optional metadata: {e}"))?;
        let e = |x: std::io::Error| format!("TABLE_MAP at {at}: optional metadata: {x}");
        match field {
            OptionalMetadataField::Signedness(bits) => {
                // mysql_common gives one flag per column it counts as
                // numeric, YEAR and the old DECIMAL included; MySQL
                // (`is_numeric_type` in sql/log_event.cc) writes flags for
                // the integers, NEWDECIMAL, FLOAT and DOUBLE only, so the
                // flags past those are padding.
                let numeric = (0..n)
                    .filter(|i| matches!(columns[*i].0, 1 | 2 | 3 | 4 | 5 | 8 | 9 | 246))
                    .count();
                m.signedness = Some(bits.iter().by_vals().take(numeric).collect());
            }
            OptionalMetadataField::DefaultCharset(d) => {
                let ex: Result<Vec<(u64, u16)>, String> = d
                    .iter_non_default()
                    .map(|x| x.map(|x| (x.column_index(), x.charset())).map_err(e))
                    .collect();
                m.default_charset = Some((d.default_charset(), ex?));
            }
            OptionalMetadataField::ColumnCharset(c) => {
                let cs: Result<Vec<u16>, String> =
                    c.iter_charsets().map(|x| x.map_err(e)).collect();
                m.column_charsets = Some(cs?);
            }
            OptionalMetadataField::ColumnName(names) => {
                let ns: Result<Vec<String>, String> = names
                    .iter_names()
                    .map(|x| x.map(|n| n.name().into_owned()).map_err(e))
                    .collect();
                m.column_names = Some(ns?);
            }
            OptionalMetadataField::SetStrValue(v) => {
                let mut lists = Vec::new();
                for s in v.iter_values() {
                    let s = s.map_err(e)?;
                    lists.push(s.values().iter().map(|x| x.value_raw().to_vec()).collect());
                }
                m.set_values = Some(lists);
            }
            OptionalMetadataField::EnumStrValue(v) => {
                let mut lists = Vec::new();
                for s in v.iter_values() {
                    let s = s.map_err(e)?;
                    lists.push(s.values().iter().map(|x| x.value_raw().to_vec()).collect());
                }
                m.enum_values = Some(lists);
            }
            OptionalMetadataField::GeometryType(g) => {
                let gs: Result<Vec<u32>, String> = g
                    .iter_geometry_types()
                    .map(|x| x.map(|t| t as u32).map_err(e))
                    .collect();
                m.geometry_types = Some(gs?);
            }
            OptionalMetadataField::SimplePrimaryKey(k) => {
                let ks: Result<Vec<u64>, String> = k.iter_indexes().map(|x| x.map_err(e)).collect();
                m.simple_primary_key = Some(ks?);
            }
            OptionalMetadataField::PrimaryKeyWithPrefix(k) => {
                let ks: Result<Vec<(u64, u64)>, String> = k
                    .iter_keys()
                    .map(|x| x.map(|k| (k.column_index(), k.prefix_length())).map_err(e))
                    .collect();
                m.primary_key_with_prefix = Some(ks?);
            }
            OptionalMetadataField::EnumAndSetDefaultCharset(d) => {
                let ex: Result<Vec<(u64, u16)>, String> = d
                    .iter_non_default()
                    .map(|x| x.map(|x| (x.column_index(), x.charset())).map_err(e))
                    .collect();
                m.enum_and_set_default_charset = Some((d.default_charset(), ex?));
            }
            OptionalMetadataField::EnumAndSetColumnCharset(c) => {
                let cs: Result<Vec<u16>, String> =
                    c.iter_charsets().map(|x| x.map_err(e)).collect();
                m.enum_and_set_column_charsets = Some(cs?);
            }
            OptionalMetadataField::ColumnVisibility(bits) => {
                m.column_visibility = Some(bits.iter().by_vals().collect());
            }
            OptionalMetadataField::Dimensionality(_) => {
                return Err(format!(
                    "TABLE_MAP at {at} has a VECTOR_DIMENSIONALITY field the writer never writes"
                ));
            }
        }
    }
    Ok(TableMapEntry {
        table_id: t.table_id(),
        // mysql_common keeps the flags but has no getter: they follow the
        // 6-byte table id.
        flags: u16::from_le_bytes([
            raw.get(6).copied().unwrap_or(0),
            raw.get(7).copied().unwrap_or(0),
        ]),
        schema: t.database_name().into_owned(),
        table: t.table_name().into_owned(),
        columns,
        optional: m,
    })
}

fn rows_entry(
    r: &RowsEventData<'_>,
    tme: &TableMapEvent<'_>,
    code: u8,
    raw: &[u8],
    at: u64,
) -> Result<RowsEntry, String> {
    let kind = match code {
        30 => RowsKind::Write,
        31 => RowsKind::Update,
        32 => RowsKind::Delete,
        39 => RowsKind::PartialUpdate,
        other => {
            return Err(format!(
                "the rows event at {at} is of type {other}, which MySQL 8 does not write"
            ))
        }
    };
    let before_cols: Option<Vec<bool>> = r
        .columns_before_image()
        .map(|b| b.iter().by_vals().collect());
    let after_cols: Option<Vec<bool>> = r
        .columns_after_image()
        .map(|b| b.iter().by_vals().collect());
    let mut rows = Vec::new();
    for (i, row) in r.rows(tme).enumerate() {
        let (b, a) = row.map_err(|e| {
            format!("mysql_common cannot read row {i} of the rows event at {at}: {e}")
        })?;
        let before = match (b, &before_cols) {
            (Some(b), Some(cols)) => Some(image(&b, cols, tme, at)?),
            _ => None,
        };
        let after = match (a, &after_cols) {
            (Some(a), Some(cols)) => Some(image(&a, cols, tme, at)?),
            _ => None,
        };
        rows.push(RowChange { before, after });
    }
    Ok(RowsEntry {
        kind,
        table_id: r.table_id(),
        flags: u16::from_le_bytes([
            raw.get(6).copied().unwrap_or(0),
            raw.get(7).copied().unwrap_or(0),
        ]),
        columns_before: before_cols,
        columns_after: after_cols,
        rows,
    })
}

/// One row image: mysql_common's values (present columns only) spread
/// over the table's columns.
fn image(
    row: &BinlogRow,
    present: &[bool],
    tme: &TableMapEvent<'_>,
    at: u64,
) -> Result<Image, String> {
    let mut out = Vec::with_capacity(present.len());
    let mut k = 0;
    for (i, p) in present.iter().enumerate() {
        if !p {
            out.push(None);
            continue;
        }
        let col = row.columns_ref().get(k).ok_or_else(|| {
            format!("the rows event at {at}: mysql_common returned fewer columns than present")
        })?;
        let unsigned = col.flags().contains(ColumnFlags::UNSIGNED_FLAG);
        let v = row
            .as_ref(k)
            .ok_or_else(|| format!("the rows event at {at}: no value for column {i}"))?;
        let ty = tme
            .get_column_type(i)
            .map_err(|e| format!("column {i} at {at}: {e}"))?
            .ok_or_else(|| format!("column {i} at {at} has no type"))?;
        let meta = tme.get_column_metadata(i).unwrap_or(&[]);
        out.push(Some(value(v, ty, meta, unsigned).map_err(|e| {
            format!("the rows event at {at}, column {i}: {e}")
        })?));
        k += 1;
    }
    Ok(out)
}

/// mysql_common's value of a column of `ty` as a [`Value`].
fn value(
    v: &BinlogValue<'_>,
    ty: ColumnType,
    meta: &[u8],
    unsigned: bool,
) -> Result<Value, String> {
    use ColumnType as T;
    let v = match v {
        BinlogValue::Value(MyValue::NULL) => return Ok(Value::Null),
        BinlogValue::Jsonb(j) => return Ok(Value::Json(json(j)?)),
        BinlogValue::JsonDiff(d) => {
            let mut out = Vec::new();
            for x in d {
                out.push(JsonDiff {
                    op: match x.operation() {
                        JsonDiffOperation::REPLACE => JsonDiffOp::Replace,
                        JsonDiffOperation::INSERT => JsonDiffOp::Insert,
                        JsonDiffOperation::REMOVE => JsonDiffOp::Remove,
                    },
                    path: String::from_utf8(x.path().to_vec()).map_err(|e| e.to_string())?,
                    value: x.value().map(json).transpose()?,
                });
            }
            return Ok(Value::JsonDiffs(out));
        }
        BinlogValue::Value(v) => v,
    };
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|e| e.to_string());
    Ok(match (ty, v) {
        // mysql_common returns an unsigned integer that fits i64 as Int,
        // and MEDIUMINT always as Int: the column's UNSIGNED flag (from the
        // SIGNEDNESS metadata, as mysql_common resolved it) decides.
        (
            T::MYSQL_TYPE_TINY
            | T::MYSQL_TYPE_SHORT
            | T::MYSQL_TYPE_INT24
            | T::MYSQL_TYPE_LONG
            | T::MYSQL_TYPE_LONGLONG,
            MyValue::Int(i),
        ) => {
            if unsigned {
                Value::UInt(u64::try_from(*i).map_err(|_| format!("{i} in an UNSIGNED column"))?)
            } else if ty == T::MYSQL_TYPE_INT24 && *i >= 1 << 23 {
                // mysql_common 0.37.3 reads a signed MEDIUMINT's three bytes
                // without sign extension (`eat_i24_le`).
                Value::Int(*i - (1 << 24))
            } else {
                Value::Int(*i)
            }
        }
        (
            T::MYSQL_TYPE_TINY | T::MYSQL_TYPE_SHORT | T::MYSQL_TYPE_LONG | T::MYSQL_TYPE_LONGLONG,
            MyValue::UInt(u),
        ) if unsigned => Value::UInt(*u),
        (T::MYSQL_TYPE_FLOAT, MyValue::Float(f)) => Value::Float(*f),
        (T::MYSQL_TYPE_DOUBLE, MyValue::Double(d)) => Value::Double(*d),
        (T::MYSQL_TYPE_NEWDECIMAL, MyValue::Bytes(b)) => Value::Decimal(text(b)?),
        // mysql_common prints 1900 + the stored byte; the byte 0 is MySQL's
        // zero year.
        (T::MYSQL_TYPE_YEAR, MyValue::Bytes(b)) => {
            let y: u16 = text(b)?.parse().map_err(|e| format!("YEAR {b:?}: {e}"))?;
            Value::Year(if y == 1900 { 0 } else { y })
        }
        (T::MYSQL_TYPE_NEWDATE, MyValue::Date(y, m, d, 0, 0, 0, 0)) => Value::date(*y, *m, *d),
        (T::MYSQL_TYPE_TIME2, MyValue::Time(neg, days, h, m, s, us)) => Value::Time {
            negative: *neg,
            hours: days * 24 + u32::from(*h),
            minutes: *m,
            seconds: *s,
            micros: *us,
        },
        (T::MYSQL_TYPE_DATETIME2, MyValue::Date(y, mo, d, h, mi, s, us)) => {
            Value::datetime(*y, *mo, *d, *h, *mi, *s, *us)
        }
        (T::MYSQL_TYPE_TIMESTAMP2, MyValue::Bytes(b)) => {
            let t = text(b)?;
            let (s, us) = t.split_once('.').unwrap_or((&t, "0"));
            Value::Timestamp {
                seconds: s.parse().map_err(|e| format!("TIMESTAMP {t}: {e}"))?,
                micros: us.parse().map_err(|e| format!("TIMESTAMP {t}: {e}"))?,
            }
        }
        (T::MYSQL_TYPE_BIT, MyValue::Bytes(b)) => {
            Value::Bit(b.iter().fold(0u64, |a, x| (a << 8) | u64::from(*x)))
        }
        (T::MYSQL_TYPE_ENUM, MyValue::Int(i)) => {
            Value::Enum(u16::try_from(*i).map_err(|e| e.to_string())?)
        }
        (T::MYSQL_TYPE_SET, MyValue::Bytes(b)) => {
            Value::Set(b.iter().rev().fold(0u64, |a, x| (a << 8) | u64::from(*x)))
        }
        (T::MYSQL_TYPE_GEOMETRY, MyValue::Bytes(b)) => {
            if b.len() < 4 {
                return Err(format!("a geometry of {} bytes has no SRID", b.len()));
            }
            Value::Geometry {
                srid: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                wkb: b[4..].to_vec(),
            }
        }
        (
            T::MYSQL_TYPE_STRING
            | T::MYSQL_TYPE_VARCHAR
            | T::MYSQL_TYPE_VAR_STRING
            | T::MYSQL_TYPE_BLOB,
            MyValue::Bytes(b),
        ) => Value::Bytes(b.clone()),
        (ty, v) => {
            return Err(format!(
                "mysql_common gave {v:?} for a column of type {ty:?} (metadata {meta:?})"
            ))
        }
    })
}

/// A mysql_common JSON value as a normalized [`Json`].
fn json(v: &jsonb::Value<'_>) -> Result<Json, String> {
    let e = |x: std::io::Error| x.to_string();
    Ok(match v {
        jsonb::Value::Null => Json::Null,
        jsonb::Value::Bool(b) => Json::Bool(*b),
        jsonb::Value::I16(x) => Json::Int(i64::from(*x)),
        jsonb::Value::I32(x) => Json::Int(i64::from(*x)),
        jsonb::Value::I64(x) => Json::Int(*x),
        jsonb::Value::U16(x) => Json::UInt(u64::from(*x)),
        jsonb::Value::U32(x) => Json::UInt(u64::from(*x)),
        jsonb::Value::U64(x) => Json::UInt(*x),
        jsonb::Value::F64(x) => Json::Double(*x),
        jsonb::Value::String(s) => {
            Json::String(String::from_utf8(s.str_raw().to_vec()).map_err(|x| x.to_string())?)
        }
        jsonb::Value::SmallArray(a) => Json::Array(
            a.iter()
                .map(|x| x.map_err(e).and_then(|x| json(&x)))
                .collect::<Result<_, _>>()?,
        ),
        jsonb::Value::LargeArray(a) => Json::Array(
            a.iter()
                .map(|x| x.map_err(e).and_then(|x| json(&x)))
                .collect::<Result<_, _>>()?,
        ),
        jsonb::Value::SmallObject(o) => Json::Object(
            o.iter()
                .map(|x| {
                    let (k, v) = x.map_err(e)?;
                    Ok((
                        String::from_utf8(k.value_raw().to_vec()).map_err(|x| x.to_string())?,
                        json(&v)?,
                    ))
                })
                .collect::<Result<_, String>>()?,
        ),
        jsonb::Value::LargeObject(o) => Json::Object(
            o.iter()
                .map(|x| {
                    let (k, v) = x.map_err(e)?;
                    Ok((
                        String::from_utf8(k.value_raw().to_vec()).map_err(|x| x.to_string())?,
                        json(&v)?,
                    ))
                })
                .collect::<Result<_, String>>()?,
        ),
        jsonb::Value::Opaque(o) => Json::Opaque {
            field_type: o.value_type() as u8,
            data: o.data_raw().to_vec(),
        },
    })
}
