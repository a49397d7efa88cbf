//! A table resolved for the copy: the columns read and written (renames,
//! column lists), the filter checked, the key's place in a row read, the
//! SELECT and the LOAD DATA statement. In the watermark copy, ENUM and SET
//! columns are read and written as numbers (see `encode`).

use server_dialect::quote;

use super::encode;
use super::options::CopyOptions;
use crate::base::error::CopyError;
use crate::base::filter::validate_filter;
use crate::base::keyset::{key_param, key_read_as_number, KeyBound};
use crate::base::mapping::{ConflictPolicy, TableMapping};
use crate::base::meta::{ColumnMeta, KeyStrategy, TableMeta};

/// A table, resolved: its metadata, what is read and what is written.
pub(super) struct Prepared {
    pub(super) meta: TableMeta,
    pub(super) source: String,
    pub(super) target: String,
    pub(super) target_db: String,
    pub(super) target_table: String,
    /// Indexes into `meta.columns` of the columns written, in order.
    pub(super) written: Vec<usize>,
    /// How each written column is encoded, and whether it is an ENUM.
    pub(super) codecs: Vec<(encode::Codec, bool)>,
    /// How each key column is encoded (its identity in the watermark
    /// copy's reconciliation).
    pub(super) key_codecs: Vec<encode::Codec>,
    /// ENUM and SET columns are read as `col + 0` and written as numbers
    /// (the watermark copy).
    pub(super) members_as_numbers: bool,
    /// The LOAD DATA statement.
    pub(super) load: String,
    /// `SELECT cols FROM t`: the written columns, then the key columns not
    /// written.
    pub(super) select: String,
    /// Where each key column is in a row read.
    pub(super) key_pos: Vec<usize>,
    /// The quoted key columns.
    pub(super) key_names: Vec<String>,
    /// What the SELECT reads for each key column (as at `key_pos`).
    pub(super) key_exprs: Vec<String>,
    /// How each key column's bound is sent (`keyset::key_param`).
    pub(super) key_params: Vec<KeyBound>,
    pub(super) filter: Option<String>,
    pub(super) chunk_rows: usize,
}

pub(super) fn prepare(
    t: &TableMapping,
    meta: TableMeta,
    options: &CopyOptions,
    members_as_numbers: bool,
) -> Result<Prepared, CopyError> {
    let source = meta.quoted();
    let err = |reason: String| CopyError::Table {
        table: source.clone(),
        reason,
    };
    let mut written = Vec::new();
    let mut target_names = Vec::new();
    match &t.columns {
        None => {
            for (i, c) in meta.written() {
                written.push(i);
                target_names.push(c.name.clone());
            }
        }
        Some(list) => {
            if list.is_empty() {
                return Err(err(
                    "its column list is empty; list at least one column".into()
                ));
            }
            for m in list {
                let i = meta
                    .columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(&m.source))
                    .ok_or_else(|| {
                        err(format!(
                            "the column {} in its column list does not exist (its columns: {})",
                            quote(&m.source),
                            meta.columns
                                .iter()
                                .map(|c| quote(&c.name))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                if meta.columns[i].generated {
                    return Err(err(format!(
                        "the column {} is generated: the target computes it; leave it out of the \
                         column list",
                        quote(&m.source)
                    )));
                }
                if written.contains(&i) {
                    return Err(err(format!(
                        "the column {} is listed twice",
                        quote(&m.source)
                    )));
                }
                written.push(i);
                target_names.push(m.target.clone());
            }
        }
    }
    let filter = match &t.filter {
        None => None,
        Some(f) => {
            let names: Vec<String> = meta.columns.iter().map(|c| c.name.clone()).collect();
            Some(validate_filter(f, &names).map_err(|e| err(e.to_string()))?)
        }
    };
    let key: Vec<usize> = match &meta.key {
        KeyStrategy::Keyset(k) => k.clone(),
        KeyStrategy::FullScan => Vec::new(),
    };
    let key_names: Vec<String> = key.iter().map(|&i| quote(&meta.columns[i].name)).collect();
    // What the SELECT reads for a column: an ENUM's index or a SET's
    // bitmask as `col + 0` (the manuals' way to read them as numbers) when
    // members are numbers.
    let read_expr = |i: usize| {
        let c = &meta.columns[i];
        if members_as_numbers && encode::is_member_type(c) {
            format!("{} + 0", quote(&c.name))
        } else {
            quote(&c.name)
        }
    };
    let mut cols: Vec<String> = written.iter().map(|&i| read_expr(i)).collect();
    // Where each key column is in a row read: its written column, unless
    // the written value is an ENUM's or SET's member text where the keyset
    // needs its number (the order the key sorts in), read again as one.
    let mut key_pos = Vec::with_capacity(key.len());
    let mut key_exprs = Vec::with_capacity(key.len());
    for &k in &key {
        let c = &meta.columns[k];
        let as_number = key_read_as_number(c) && !members_as_numbers;
        match written.iter().position(|&w| w == k) {
            Some(pos) if !as_number => key_pos.push(pos),
            _ => {
                key_pos.push(cols.len());
                cols.push(if as_number {
                    format!("{} + 0", quote(&c.name))
                } else {
                    read_expr(k)
                });
            }
        }
        if let Some(&pos) = key_pos.last() {
            key_exprs.push(cols[pos].clone());
        }
    }
    let key_params: Vec<KeyBound> = key.iter().map(|&k| key_param(&meta.columns[k])).collect();
    let select = format!("SELECT {} FROM {}", cols.join(", "), source);
    let load = load_statement(
        &meta.columns,
        &written,
        &target_names,
        t,
        options.conflict,
        members_as_numbers,
    );
    let width = meta.avg_row_length.max(1);
    // By bytes, at least one row: the watermark copy holds a chunk in
    // memory, so a table of 16 MB rows is read a row or so at a time.
    let most = options.chunk_rows.max(1) as u64;
    let chunk_rows = (options.chunk_bytes as u64 / width).clamp(1, most);
    Ok(Prepared {
        target: t.target_quoted(),
        target_db: t.target_db.clone(),
        target_table: t.target_table.clone(),
        source,
        codecs: written
            .iter()
            .map(|&i| {
                let c = &meta.columns[i];
                (
                    encode::Codec::with_members(c, members_as_numbers),
                    c.data_type == "enum",
                )
            })
            .collect(),
        key_codecs: key
            .iter()
            .map(|&i| encode::Codec::with_members(&meta.columns[i], members_as_numbers))
            .collect(),
        members_as_numbers,
        written,
        load,
        select,
        key_pos,
        key_names,
        key_exprs,
        key_params,
        filter,
        chunk_rows: chunk_rows as usize,
        meta,
    })
}

/// The LOAD DATA statement for a table: written columns in order, BIT
/// columns (and ENUM and SET ones when their members are numbers) through
/// user variables, cast to a number so that the server stores the value,
/// index or bitmask the number is.
fn load_statement(
    columns: &[ColumnMeta],
    written: &[usize],
    target_names: &[String],
    t: &TableMapping,
    conflict: ConflictPolicy,
    members_as_numbers: bool,
) -> String {
    let mut cols = Vec::new();
    let mut sets = Vec::new();
    for (n, (&i, name)) in written.iter().zip(target_names).enumerate() {
        let c = &columns[i];
        if c.data_type == "bit" || (members_as_numbers && encode::is_member_type(c)) {
            cols.push(format!("@v{n}"));
            sets.push(format!("{} = CAST(@v{n} AS UNSIGNED)", quote(name)));
        } else {
            cols.push(quote(name));
        }
    }
    let modifier = match conflict {
        ConflictPolicy::Error => "",
        ConflictPolicy::Ignore => "IGNORE ",
        ConflictPolicy::Overwrite => "REPLACE ",
    };
    let mut s = format!(
        "LOAD DATA LOCAL INFILE 'dts-chunk' {modifier}INTO TABLE {} CHARACTER SET binary \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
        t.target_quoted(),
        cols.join(", ")
    );
    if !sets.is_empty() {
        s.push_str(" SET ");
        s.push_str(&sets.join(", "));
    }
    s
}
