//! TABLE_MAP and rows event bodies, which mysql_common can read but not
//! build: laid out here from MySQL's documentation of `Table_map_event` and
//! `Rows_event` (`libs/mysql/binlog/event/rows_event.h`), the optional
//! metadata of `Table_map_log_event::init_optional_metadata`
//! (`sql/log_event.cc`) and the row images of `sql/rpl_record.h`
//! (PARTIAL_UPDATE_ROWS' shared image).

use std::collections::BTreeMap;

use mysql_common::binlog::consts::EventType;

use super::entry::{Entry, Image, OptionalMetadata, RowChange, RowsEntry, RowsKind, TableMapEntry};
use super::json::{lenenc_bytes, lenenc_int};
use super::schema::{CharsetLayout, ColumnType, RowMetadata, TableDef};
use super::value::{decimal_text, encode, Value};
use super::writer::RowImage;

/// `TM_BIT_LEN_EXACT_F`: the flags MySQL 8 writes on every TABLE_MAP.
pub(crate) const TM_BIT_LEN_EXACT_F: u16 = 0x1;
/// `STMT_END_F` on a statement's last rows event.
pub const STMT_END_F: u16 = 0x1;

/// A row of a statement: (before image, after image), each one value per
/// column.
pub(crate) type RowPair = (Option<Vec<Value>>, Option<Vec<Value>>);

/// An event built but not yet placed: type, header flags, body, and what
/// it records.
#[derive(Clone, Debug)]
pub(crate) struct Framed {
    pub(crate) code: u8,
    pub(crate) flags: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) entry: Entry,
}

/// The optional metadata MySQL writes for `table`
/// (`Table_map_log_event::init_optional_metadata`).
pub(crate) fn optional_metadata(table: &TableDef) -> OptionalMetadata {
    let mut m = OptionalMetadata::default();
    if table.metadata == RowMetadata::None {
        return m;
    }
    let cols = &table.columns;
    let numeric: Vec<bool> = cols
        .iter()
        .filter(|c| c.ty.is_numeric())
        .map(|c| c.ty.is_unsigned())
        .collect();
    if !numeric.is_empty() {
        m.signedness = Some(numeric);
    }
    let chars: Vec<u16> = cols
        .iter()
        .filter(|c| c.ty.is_character())
        .filter_map(|c| c.ty.collation().map(|x| x.0))
        .collect();
    (m.default_charset, m.column_charsets) = charset_fields(&chars, table.charset_layout);
    let geoms: Vec<u32> = cols
        .iter()
        .filter_map(|c| match c.ty {
            ColumnType::Geometry { kind } => Some(kind as u32),
            _ => None,
        })
        .collect();
    if !geoms.is_empty() {
        m.geometry_types = Some(geoms);
    }
    if table.metadata == RowMetadata::Full {
        m.column_names = Some(cols.iter().map(|c| c.name.clone()).collect());
        let enum_set: Vec<u16> = cols
            .iter()
            .filter(|c| c.ty.is_enum_or_set())
            .filter_map(|c| c.ty.collation().map(|x| x.0))
            .collect();
        (
            m.enum_and_set_default_charset,
            m.enum_and_set_column_charsets,
        ) = charset_fields(&enum_set, table.charset_layout);
        let sets: Vec<Vec<Vec<u8>>> = cols
            .iter()
            .filter_map(|c| match &c.ty {
                ColumnType::Set { members, .. } => Some(members.clone()),
                _ => None,
            })
            .collect();
        if !sets.is_empty() {
            m.set_values = Some(sets);
        }
        let enums: Vec<Vec<Vec<u8>>> = cols
            .iter()
            .filter_map(|c| match &c.ty {
                ColumnType::Enum { members, .. } => Some(members.clone()),
                _ => None,
            })
            .collect();
        if !enums.is_empty() {
            m.enum_values = Some(enums);
        }
        if !table.primary_key.is_empty() {
            if table.primary_key.iter().all(|(_, p)| *p == 0) {
                m.simple_primary_key =
                    Some(table.primary_key.iter().map(|(i, _)| *i as u64).collect());
            } else {
                m.primary_key_with_prefix = Some(
                    table
                        .primary_key
                        .iter()
                        .map(|(i, p)| (*i as u64, u64::from(*p)))
                        .collect(),
                );
            }
        }
        m.column_visibility = Some(cols.iter().map(|c| c.visible).collect());
    }
    m
}

/// DEFAULT_CHARSET-style or COLUMN_CHARSET-style charset fields for the
/// collations of the columns a field covers.
#[allow(clippy::type_complexity)]
fn charset_fields(
    colls: &[u16],
    layout: CharsetLayout,
) -> (Option<(u16, Vec<(u64, u16)>)>, Option<Vec<u16>>) {
    if colls.is_empty() {
        return (None, None);
    }
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    for c in colls {
        *counts.entry(*c).or_default() += 1;
    }
    // The most used collation; the lowest id among equals.
    let best = counts.values().copied().max().unwrap_or(0);
    let default = counts
        .iter()
        .find(|(_, n)| **n == best)
        .map_or(0, |(c, _)| *c);
    let exceptions: Vec<(u64, u16)> = colls
        .iter()
        .enumerate()
        .filter(|(_, c)| **c != default)
        .map(|(i, c)| (i as u64, *c))
        .collect();
    let mut d = Vec::new();
    lenenc_int(u64::from(default), &mut d);
    for (i, c) in &exceptions {
        lenenc_int(*i, &mut d);
        lenenc_int(u64::from(*c), &mut d);
    }
    let mut p = Vec::new();
    for c in colls {
        lenenc_int(u64::from(*c), &mut p);
    }
    let use_default = match layout {
        CharsetLayout::Default => true,
        CharsetLayout::PerColumn => false,
        CharsetLayout::Auto => d.len() <= p.len(),
    };
    if use_default {
        (Some((default, exceptions)), None)
    } else {
        (None, Some(colls.to_vec()))
    }
}

/// The TLVs of the optional metadata, in the order MySQL writes them.
fn optional_bytes(m: &OptionalMetadata) -> Vec<u8> {
    let mut out = Vec::new();
    let mut tlv = |t: u8, v: Vec<u8>| {
        out.push(t);
        lenenc_bytes(&v, &mut out);
    };
    // Bits most significant first, padded to whole bytes.
    let bits = |flags: &[bool]| -> Vec<u8> {
        let mut v = vec![0u8; flags.len().div_ceil(8)];
        for (i, f) in flags.iter().enumerate() {
            if *f {
                v[i / 8] |= 0x80 >> (i % 8);
            }
        }
        v
    };
    let charset_default = |(d, ex): &(u16, Vec<(u64, u16)>)| {
        let mut v = Vec::new();
        lenenc_int(u64::from(*d), &mut v);
        for (i, c) in ex {
            lenenc_int(*i, &mut v);
            lenenc_int(u64::from(*c), &mut v);
        }
        v
    };
    let charset_columns = |cs: &[u16]| {
        let mut v = Vec::new();
        for c in cs {
            lenenc_int(u64::from(*c), &mut v);
        }
        v
    };
    let strings = |lists: &[Vec<Vec<u8>>]| {
        let mut v = Vec::new();
        for members in lists {
            lenenc_int(members.len() as u64, &mut v);
            for s in members {
                lenenc_bytes(s, &mut v);
            }
        }
        v
    };
    if let Some(s) = &m.signedness {
        tlv(1, bits(s));
    }
    if let Some(d) = &m.default_charset {
        tlv(2, charset_default(d));
    }
    if let Some(c) = &m.column_charsets {
        tlv(3, charset_columns(c));
    }
    if let Some(g) = &m.geometry_types {
        let mut v = Vec::new();
        for t in g {
            lenenc_int(u64::from(*t), &mut v);
        }
        tlv(7, v);
    }
    if let Some(names) = &m.column_names {
        let mut v = Vec::new();
        for n in names {
            lenenc_bytes(n.as_bytes(), &mut v);
        }
        tlv(4, v);
    }
    if let Some(d) = &m.enum_and_set_default_charset {
        tlv(10, charset_default(d));
    }
    if let Some(c) = &m.enum_and_set_column_charsets {
        tlv(11, charset_columns(c));
    }
    if let Some(s) = &m.set_values {
        tlv(5, strings(s));
    }
    if let Some(e) = &m.enum_values {
        tlv(6, strings(e));
    }
    if let Some(k) = &m.simple_primary_key {
        let mut v = Vec::new();
        for i in k {
            lenenc_int(*i, &mut v);
        }
        tlv(8, v);
    }
    if let Some(k) = &m.primary_key_with_prefix {
        let mut v = Vec::new();
        for (i, p) in k {
            lenenc_int(*i, &mut v);
            lenenc_int(*p, &mut v);
        }
        tlv(9, v);
    }
    if let Some(vis) = &m.column_visibility {
        tlv(12, bits(vis));
    }
    out
}

/// A TABLE_MAP event for `t`: table id (6 bytes), flags, the database and
/// table names (length byte, bytes, NUL), the column count, the type codes,
/// the metadata block, the nullability bitmap and the optional metadata.
pub(crate) fn table_map_event(t: &TableDef) -> Framed {
    assert!(
        t.schema.len() < 256 && t.name.len() < 256,
        "mysql_binlog: a name of {}.{} is over 255 bytes",
        t.schema,
        t.name
    );
    let mut body = Vec::new();
    body.extend_from_slice(&t.table_id.to_le_bytes()[..6]);
    body.extend_from_slice(&TM_BIT_LEN_EXACT_F.to_le_bytes());
    body.push(t.schema.len() as u8);
    body.extend_from_slice(t.schema.as_bytes());
    body.push(0);
    body.push(t.name.len() as u8);
    body.extend_from_slice(t.name.as_bytes());
    body.push(0);
    lenenc_int(t.columns.len() as u64, &mut body);
    let mut columns = Vec::with_capacity(t.columns.len());
    let mut meta = Vec::new();
    for c in &t.columns {
        body.push(c.ty.type_code());
        let m = c.ty.metadata();
        meta.extend_from_slice(&m);
        columns.push((c.ty.type_code(), m, c.nullable));
    }
    lenenc_bytes(&meta, &mut body);
    let nullable: Vec<bool> = t.columns.iter().map(|c| c.nullable).collect();
    body.extend(bitmap(&nullable));
    let optional = optional_metadata(t);
    body.extend(optional_bytes(&optional));
    Framed {
        code: EventType::TABLE_MAP_EVENT as u8,
        flags: 0,
        body,
        entry: Entry::TableMap(TableMapEntry {
            table_id: t.table_id,
            flags: TM_BIT_LEN_EXACT_F,
            schema: t.schema.clone(),
            table: t.name.clone(),
            columns,
            optional,
        }),
    }
}

/// A bitmap, bit 0 of byte 0 first.
fn bitmap(flags: &[bool]) -> Vec<u8> {
    let mut v = vec![0u8; flags.len().div_ceil(8)];
    for (i, f) in flags.iter().enumerate() {
        if *f {
            v[i / 8] |= 1 << (i % 8);
        }
    }
    v
}

/// A rows event's columns-present bitmap. When every column is present
/// MySQL sets the padding bits of the last byte too (`bitmap_set_all` fills
/// whole bytes: the real 8.0.40 file has 0xff for three columns).
fn columns_bitmap(flags: &[bool]) -> Vec<u8> {
    if flags.iter().all(|f| *f) {
        vec![0xff; flags.len().div_ceil(8)]
    } else {
        bitmap(flags)
    }
}

/// The columns of the before and after images of a statement, as the row
/// image setting decides (one pair for the whole statement, as MySQL's
/// rows events carry one).
fn image_columns(
    t: &TableDef,
    kind: RowsKind,
    rows: &[RowPair],
    image: &RowImage,
) -> (Vec<bool>, Vec<bool>) {
    let n = t.columns.len();
    let all = vec![true; n];
    let key: Vec<bool> = if t.primary_key.is_empty() {
        all.clone()
    } else {
        (0..n).map(|i| t.is_key_column(i)).collect()
    };
    let changed: Vec<bool> = (0..n)
        .map(|i| {
            rows.iter().any(|(b, a)| match (b, a) {
                (Some(b), Some(a)) => b[i] != a[i],
                _ => false,
            })
        })
        .collect();
    let noblob: Vec<bool> = (0..n)
        .map(|i| !t.columns[i].ty.is_blob_like() || t.is_key_column(i))
        .collect();
    match image {
        RowImage::Full => (all.clone(), all),
        RowImage::Columns { before, after } => {
            assert!(
                before.len() == n && after.len() == n,
                "mysql_binlog: image column lists must have one flag per column of {}.{}",
                t.schema,
                t.name
            );
            (before.clone(), after.clone())
        }
        RowImage::Minimal => match kind {
            RowsKind::Write => (key, all),
            RowsKind::Delete => (key, all),
            RowsKind::Update | RowsKind::PartialUpdate => {
                let after = if changed.iter().any(|c| *c) {
                    changed
                } else {
                    key.clone()
                };
                (key, after)
            }
        },
        RowImage::NoBlob => {
            let after: Vec<bool> = match kind {
                RowsKind::Write => all,
                _ => (0..n).map(|i| noblob[i] || changed[i]).collect(),
            };
            (noblob, after)
        }
    }
}

/// The value as the binlog logs it: JSON normalized, DECIMAL as printed,
/// CHAR/BINARY without trailing pad bytes.
pub(crate) fn logged(ty: &ColumnType, v: &Value) -> Value {
    match (ty, v) {
        (_, Value::Json(j)) => Value::Json(j.normalized()),
        (_, Value::JsonDiffs(d)) => Value::JsonDiffs(d.iter().map(|x| x.normalized()).collect()),
        (
            ColumnType::Decimal {
                precision, scale, ..
            },
            Value::Decimal(t),
        ) => Value::Decimal(decimal_text(t, *precision, *scale).unwrap_or_else(|_| t.clone())),
        (ColumnType::Char { collation, .. }, Value::Bytes(b)) => {
            let pad = collation.pad_byte();
            let end = b.iter().rposition(|c| *c != pad).map_or(0, |i| i + 1);
            Value::Bytes(b[..end].to_vec())
        }
        _ => v.clone(),
    }
}

/// One row image: the NULL bitmap over the present columns, then their
/// values. Returns what it records.
fn encode_image(
    t: &TableDef,
    row: &[Value],
    present: &[bool],
    allow_diffs: bool,
    row_no: usize,
    out: &mut Vec<u8>,
) -> Image {
    let nulls: Vec<bool> = (0..row.len())
        .filter(|i| present[*i])
        .map(|i| row[i].is_null())
        .collect();
    out.extend(bitmap(&nulls));
    let mut image = Vec::with_capacity(row.len());
    for (i, (col, v)) in t.columns.iter().zip(row).enumerate() {
        if !present[i] {
            image.push(None);
            continue;
        }
        if v.is_null() {
            assert!(
                col.nullable,
                "mysql_binlog: row {row_no} of {}.{}: NULL in NOT NULL column {}",
                t.schema, t.name, col.name
            );
            image.push(Some(Value::Null));
            continue;
        }
        assert!(
            allow_diffs || !matches!(v, Value::JsonDiffs(_)),
            "mysql_binlog: row {row_no} of {}.{}: JSON diffs in column {} outside a partial update's after image",
            t.schema,
            t.name,
            col.name
        );
        if let Err(e) = encode(&col.ty, v, out) {
            panic!(
                "mysql_binlog: row {row_no} of {}.{}, column {}: {e}",
                t.schema, t.name, col.name
            );
        }
        image.push(Some(logged(&col.ty, v)));
    }
    image
}

/// The rows events of one statement: rows packed into events of about
/// `max` bytes, STMT_END_F on the last.
pub(crate) fn rows_events(
    t: &TableDef,
    kind: RowsKind,
    rows: &[RowPair],
    image: &RowImage,
    flags: u16,
    max: usize,
) -> Vec<Framed> {
    let (before_cols, after_cols) = image_columns(t, kind, rows, image);
    let has_before = kind != RowsKind::Write;
    let has_after = kind != RowsKind::Delete;
    let json_cols: Vec<usize> = (0..t.columns.len())
        .filter(|i| t.columns[*i].ty == ColumnType::Json)
        .collect();

    let mut chunks: Vec<(Vec<u8>, Vec<RowChange>)> = vec![(Vec::new(), Vec::new())];
    for (row_no, (b, a)) in rows.iter().enumerate() {
        let mut data = Vec::new();
        let before = b
            .as_ref()
            .map(|b| encode_image(t, b, &before_cols, false, row_no, &mut data));
        if kind == RowsKind::PartialUpdate {
            // The shared image: value options (PARTIAL_JSON_UPDATES), then
            // one bit per JSON column of the table, set when the after
            // image holds that column as diffs.
            let a = a.as_deref().unwrap_or_default();
            lenenc_int(1, &mut data);
            let partial: Vec<bool> = json_cols
                .iter()
                .map(|i| matches!(a.get(*i), Some(Value::JsonDiffs(_))))
                .collect();
            data.extend(bitmap(&partial));
        }
        let after = a.as_ref().map(|a| {
            encode_image(
                t,
                a,
                &after_cols,
                kind == RowsKind::PartialUpdate,
                row_no,
                &mut data,
            )
        });
        let last = chunks
            .last_mut()
            .expect("mysql_binlog: the chunk list starts with one chunk");
        if !last.1.is_empty() && last.0.len() + data.len() > max {
            chunks.push((Vec::new(), Vec::new()));
        }
        let last = chunks
            .last_mut()
            .expect("mysql_binlog: a chunk was just pushed");
        last.0.extend(data);
        last.1.push(RowChange { before, after });
    }
    let count = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, (data, changes))| {
            let f = flags | if i + 1 == count { STMT_END_F } else { 0 };
            let mut body = Vec::with_capacity(data.len() + 32);
            body.extend_from_slice(&t.table_id.to_le_bytes()[..6]);
            body.extend_from_slice(&f.to_le_bytes());
            // The v2 extra data: just its own 2-byte length.
            body.extend_from_slice(&2u16.to_le_bytes());
            lenenc_int(t.columns.len() as u64, &mut body);
            if has_before {
                body.extend(columns_bitmap(&before_cols));
            }
            if has_after {
                body.extend(columns_bitmap(&after_cols));
            }
            body.extend(data);
            Framed {
                code: kind.type_code(),
                flags: 0,
                body,
                entry: Entry::Rows(RowsEntry {
                    kind,
                    table_id: t.table_id,
                    flags: f,
                    columns_before: has_before.then(|| before_cols.clone()),
                    columns_after: has_after.then(|| after_cols.clone()),
                    rows: changes,
                }),
            }
        })
        .collect()
}
