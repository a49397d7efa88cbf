//! Row changes to target statements, inside the open target transaction.
//!
//! Two paths:
//! - **Coalesced** (a table with a usable key and no foreign key on the
//!   target): changes are merged per key into the key's net effect (the row's
//!   final image, or absent) and whether the key existed before; a flush
//!   deletes every touched key (those expected to exist, then those expected
//!   absent, counting each) and inserts the final images with multi-row
//!   INSERTs. The result is the source's state for those keys whatever order
//!   the keys are written in, secondary unique keys included, and the counts
//!   detect every conflict (a row missing, or one already there). Tables
//!   without foreign keys commute with each other, so nothing else is
//!   ordered.
//! - **Ordered** (a table without a usable key, or one in a foreign key):
//!   one statement per change, in source order, with the event's
//!   `foreign_key_checks`, so that the target's checks and cascades behave as
//!   the source's did (cascaded changes are not in the binlog).
//!
//! In the idempotent window (before the copy's overlap end), the count checks
//! are off: a key may already be in its final state, and final images are
//! written with `REPLACE` (see [`verb`]): a secondary unique value may be
//! held by a row the copy read at a later position.

use std::fmt::Write as _;
use std::sync::Arc;

use binlog_reader::Value;
use mysql_async::prelude::*;
use mysql_async::Conn;

use super::decide::Coalesced;
use super::literal::literal;
use super::table::TableInfo;
use crate::base::error::{db_err, CopyError};
use crate::base::mapping::ConflictPolicy;

/// Statements are cut at about this many bytes.
const STATEMENT_BYTES: usize = 1 << 20;

/// Counts of what was applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) inserted: u64,
    pub(crate) updated: u64,
    pub(crate) deleted: u64,
    pub(crate) conflicts_overwritten: u64,
    pub(crate) conflicts_skipped: u64,
}

/// A rendered row: the key literal (`(a,b)` or `a`) and the values tuple.
pub(crate) struct Rendered {
    pub(crate) key: String,
    pub(crate) tuple: String,
    pub(crate) enum_zero: bool,
}

fn value_at<'a>(
    info: &TableInfo,
    image: &'a [Option<Value>],
    i: usize,
    at: &str,
) -> Result<&'a Value, CopyError> {
    match image.get(i) {
        Some(Some(v)) => Ok(v),
        _ => Err(CopyError::Table {
            table: info.source_name(),
            reason: format!(
                "at {at}: column `{}` is missing from the row image (binlog_row_image is not \
                 FULL); set binlog_row_image=FULL on the source",
                info.meta.columns.get(i).map_or("?", |c| c.name.as_str())
            ),
        }),
    }
}

fn lit(info: &TableInfo, out: &mut String, v: &Value, i: usize, at: &str) -> Result<(), CopyError> {
    literal(out, v, &info.meta.columns[i]).map_err(|e| CopyError::Table {
        table: info.source_name(),
        reason: format!("at {at}: {}", e.0),
    })
}

/// Renders the key literal of an image.
pub(crate) fn render_key(
    info: &TableInfo,
    image: &[Option<Value>],
    at: &str,
) -> Result<String, CopyError> {
    let mut s = String::new();
    if info.key.len() > 1 {
        s.push('(');
    }
    for (n, (i, _)) in info.key.iter().enumerate() {
        if n > 0 {
            s.push(',');
        }
        let v = value_at(info, image, *i, at)?;
        lit(info, &mut s, v, *i, at)?;
    }
    if info.key.len() > 1 {
        s.push(')');
    }
    Ok(s)
}

/// Renders the written columns of an image as a tuple, and its key.
pub(crate) fn render(
    info: &TableInfo,
    image: &[Option<Value>],
    at: &str,
) -> Result<Rendered, CopyError> {
    let mut tuple = String::with_capacity(64);
    let mut enum_zero = false;
    tuple.push('(');
    for (n, (i, _)) in info.written.iter().enumerate() {
        if n > 0 {
            tuple.push(',');
        }
        let v = value_at(info, image, *i, at)?;
        if matches!(v, Value::Enum(0)) {
            enum_zero = true;
        }
        lit(info, &mut tuple, v, *i, at)?;
    }
    tuple.push(')');
    let key = if info.key.is_empty() {
        String::new()
    } else {
        render_key(info, image, at)?
    };
    Ok(Rendered {
        key,
        tuple,
        enum_zero,
    })
}

fn key_columns(info: &TableInfo) -> String {
    let names: Vec<&str> = info.key.iter().map(|(_, n)| n.as_str()).collect();
    if names.len() == 1 {
        names[0].to_string()
    } else {
        format!("({})", names.join(","))
    }
}

fn column_list(info: &TableInfo) -> String {
    info.written
        .iter()
        .map(|(_, n)| n.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Pending coalesced changes of one table: the net effect per key
/// ([`Coalesced`], the pure rules) and the table they are written to.
pub(crate) struct Pending {
    info: Arc<TableInfo>,
    c: Coalesced,
}

impl Pending {
    pub(crate) fn new(info: Arc<TableInfo>) -> Self {
        Pending {
            info,
            c: Coalesced::default(),
        }
    }

    /// About the bytes held, for the batch limit.
    pub(crate) fn bytes(&self) -> usize {
        self.c.bytes
    }

    pub(crate) fn insert(&mut self, r: Rendered, at: &str) {
        self.c.insert(r.key, (r.tuple, r.enum_zero), at);
    }

    pub(crate) fn delete(&mut self, key: String, at: &str) {
        self.c.delete(key, at);
    }

    pub(crate) fn update(&mut self, before_key: String, after: Rendered, at: &str) {
        self.c
            .update(before_key, after.key, (after.tuple, after.enum_zero), at);
    }
}

/// Where a conflict was found.
fn conflict(info: &TableInfo, key: &str, at: &str, exists: bool) -> CopyError {
    CopyError::Conflict {
        table: info.target.clone(),
        detail: if exists {
            format!(
                "the row with key {} = {key} already exists on the target, but the source \
                 inserted it at binlog position {at}",
                key_columns(info)
            )
        } else {
            format!(
                "the row with key {} = {key} is missing on the target, but the source changed \
                 or deleted it at binlog position {at}",
                key_columns(info)
            )
        },
    }
}

/// Runs a statement and returns its affected (found) rows, refusing any
/// warning except the one an ENUM's index 0 always gives.
/// What a statement may hold besides its rows, under the target's
/// `max_allowed_packet`.
const PACKET_MARGIN: usize = 1024;

/// The longest statement the target takes ([`TableInfo::max_packet`]).
fn statement_limit(info: &TableInfo) -> usize {
    info.max_packet.saturating_sub(PACKET_MARGIN).max(1)
}

/// A statement too large for the target even with one row (S11): never
/// cut, never retried.
fn too_big(info: &TableInfo, len: usize, key: Option<&str>) -> CopyError {
    CopyError::Table {
        table: info.source_name(),
        reason: format!(
            "a change{} needs a statement of {len} bytes, over the target's max_allowed_packet \
             ({} bytes): a row that large cannot be written. Raise max_allowed_packet on the \
             target to at least {} (SET GLOBAL max_allowed_packet = ...; it applies to new \
             connections), then start the task again: it resumes from its checkpoint",
            key.map(|k| format!(" of the row {k}..."))
                .unwrap_or_default(),
            info.max_packet,
            (len + PACKET_MARGIN).next_power_of_two()
        ),
    }
}

pub(crate) async fn run(
    conn: &mut Conn,
    info: &TableInfo,
    sql: String,
    enum_zero: bool,
) -> Result<u64, CopyError> {
    if sql.len() > statement_limit(info) {
        return Err(too_big(info, sql.len(), None));
    }
    conn.query_drop(&sql).await.map_err(|e| match &e {
        mysql_async::Error::Server(se) if se.code == 1062 => CopyError::Conflict {
            table: info.target.clone(),
            detail: se.message.clone(),
        },
        _ => CopyError::Database {
            server: "target",
            what: format!("applying changes to {}", info.target),
            error: e,
        },
    })?;
    let affected = conn.affected_rows();
    if conn.get_warnings() > 0 {
        let w: Vec<(String, u32, String)> = conn
            .query("SHOW WARNINGS")
            .await
            .map_err(db_err("target", "reading warnings"))?;
        let bad: Vec<String> = w
            .into_iter()
            .filter(|(_, code, _)| !(enum_zero && *code == 1265))
            .map(|(l, c, m)| format!("{l} {c}: {m}"))
            .collect();
        if !bad.is_empty() {
            return Err(CopyError::LoadWarnings {
                table: info.target.clone(),
                warnings: bad.join("; "),
            });
        }
    }
    Ok(affected)
}

fn in_lists<'a>(keys: impl Iterator<Item = &'a String>) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut n = 0u64;
    for k in keys {
        if !cur.is_empty() {
            cur.push(',');
        }
        cur.push_str(k);
        n += 1;
        if cur.len() >= STATEMENT_BYTES {
            out.push((std::mem::take(&mut cur), n));
            n = 0;
        }
    }
    if n > 0 {
        out.push((cur, n));
    }
    out
}

/// Deletes the keys of one list; returns rows deleted.
async fn delete_keys(
    conn: &mut Conn,
    info: &TableInfo,
    keys: &[&String],
) -> Result<u64, CopyError> {
    let mut total = 0;
    for (list, _) in in_lists(keys.iter().copied()) {
        let sql = format!(
            "DELETE FROM {} WHERE {} IN ({list})",
            info.target,
            key_columns(info)
        );
        total += run(conn, info, sql, false).await?;
    }
    Ok(total)
}

async fn exists(conn: &mut Conn, info: &TableInfo, key: &str) -> Result<bool, CopyError> {
    let sql = format!(
        "SELECT 1 FROM {} WHERE {} = {key} LIMIT 1",
        info.target,
        key_columns(info)
    );
    let r: Option<u8> = conn.query_first(sql).await.map_err(db_err(
        "target",
        format!("checking a key of {}", info.target),
    ))?;
    Ok(r.is_some())
}

impl Pending {
    /// Writes the pending changes in the open transaction.
    pub(crate) async fn flush(
        mut self,
        conn: &mut Conn,
        policy: ConflictPolicy,
        idempotent: bool,
        counts: &mut Counts,
    ) -> Result<(), CopyError> {
        let info = self.info.clone();
        let check = !idempotent;
        if check && policy != ConflictPolicy::Overwrite {
            conn.query_drop("SAVEPOINT dts_flush")
                .await
                .map_err(db_err("target", "setting a savepoint"))?;
        }
        loop {
            let (exist, absent) = self.c.expected();
            let c1 = delete_keys(conn, &info, &exist).await?;
            let c2 = delete_keys(conn, &info, &absent).await?;
            let ok = c1 == exist.len() as u64 && c2 == 0;
            if !check || ok {
                break;
            }
            if policy == ConflictPolicy::Overwrite {
                counts.conflicts_overwritten +=
                    (exist.len() as u64 - c1.min(exist.len() as u64)) + c2;
                break;
            }
            // Find the keys: undo the deletes, then look at each key.
            conn.query_drop("ROLLBACK TO SAVEPOINT dts_flush")
                .await
                .map_err(db_err("target", "rolling back to a savepoint"))?;
            let mut bad = Vec::new();
            for k in &self.c.order {
                let st = &self.c.keys[k];
                if exists(conn, &info, k).await? != st.expect_exists {
                    bad.push(k.clone());
                }
            }
            if policy == ConflictPolicy::Error || bad.is_empty() {
                let k = bad.first().cloned().unwrap_or_default();
                let st = self.c.keys.get(&k);
                return Err(conflict(
                    &info,
                    &k,
                    st.map_or("?", |s| s.first_at.as_str()),
                    st.is_some_and(|s| !s.expect_exists),
                ));
            }
            counts.conflicts_skipped += bad.len() as u64;
            self.c.remove(&bad);
        }
        let cols = column_list(&info);
        let mut sql = String::new();
        let mut enum_zero = false;
        let mut inserted = 0u64;
        // Statements of about STATEMENT_BYTES, and never over the target's
        // max_allowed_packet: split down to one row if need be.
        let limit = statement_limit(&info).min(STATEMENT_BYTES);
        for (tuple, ez) in self.c.final_rows() {
            if tuple.is_empty() {
                continue;
            }
            if !sql.is_empty() && sql.len() + 1 + tuple.len() > limit {
                run(conn, &info, std::mem::take(&mut sql), enum_zero).await?;
                enum_zero = false;
            }
            let header = 32 + info.target.len() + cols.len();
            if header + tuple.len() > statement_limit(&info) {
                let start: String = tuple.chars().take(60).collect();
                return Err(too_big(&info, header + tuple.len(), Some(&start)));
            }
            if sql.is_empty() {
                let _ = write!(
                    sql,
                    "{} INTO {} ({cols}) VALUES ",
                    verb(idempotent),
                    info.target
                );
            } else {
                sql.push(',');
            }
            sql.push_str(tuple);
            enum_zero |= ez;
            inserted += 1;
            if sql.len() >= STATEMENT_BYTES {
                run(conn, &info, std::mem::take(&mut sql), enum_zero).await?;
                enum_zero = false;
            }
        }
        if !sql.is_empty() {
            run(conn, &info, sql, enum_zero).await?;
        }
        counts.inserted += inserted;
        Ok(())
    }
}

/// The statement writing a final image. In the idempotent window (the
/// copy's overlap) it is `REPLACE`, which also removes a row that holds one
/// of the image's secondary unique values: such a row was read by the copy
/// at a later position than the one replayed, so a later change of the
/// window rewrites it (or deletes it) with its full image, and the end of
/// the window is exact (design rule 8; `binlog_row_image=FULL`, which the
/// precheck requires). Outside the window it is `INSERT`, so that the
/// target's unique keys detect every conflict.
fn verb(idempotent: bool) -> &'static str {
    if idempotent {
        "REPLACE"
    } else {
        "INSERT"
    }
}

/// One ordered change, applied at once.
pub(crate) enum Change<'a> {
    Insert(&'a [Option<Value>]),
    Update(&'a [Option<Value>], &'a [Option<Value>]),
    Delete(&'a [Option<Value>]),
}

impl<'a> From<&'a binlog_reader::event::RowChange> for Change<'a> {
    fn from(c: &'a binlog_reader::event::RowChange) -> Self {
        use binlog_reader::event::RowChange;
        match c {
            RowChange::Insert { after } => Change::Insert(after),
            RowChange::Update { before, after } => Change::Update(before, after),
            RowChange::Delete { before } => Change::Delete(before),
        }
    }
}

/// The WHERE condition finding the row of `image`: by key, or by every
/// non-generated column for a table without one.
fn locate(info: &TableInfo, image: &[Option<Value>], at: &str) -> Result<String, CopyError> {
    if !info.key.is_empty() {
        return Ok(format!(
            "{} = {}",
            key_columns(info),
            render_key(info, image, at)?
        ));
    }
    let mut w = String::new();
    for (n, (i, name)) in info.written.iter().enumerate() {
        if n > 0 {
            w.push_str(" AND ");
        }
        let v = value_at(info, image, *i, at)?;
        let _ = write!(w, "{name} <=> ");
        lit(info, &mut w, v, *i, at)?;
    }
    w.push_str(" LIMIT 1");
    Ok(w)
}

/// Applies one change of an ordered table.
pub(crate) async fn apply_ordered(
    conn: &mut Conn,
    info: &TableInfo,
    change: Change<'_>,
    policy: ConflictPolicy,
    idempotent: bool,
    at: &str,
    counts: &mut Counts,
) -> Result<(), CopyError> {
    let cols = column_list(info);
    match change {
        Change::Insert(after) => {
            let r = render(info, after, at)?;
            if idempotent && !info.key.is_empty() {
                let w = locate(info, after, at)?;
                run(
                    conn,
                    info,
                    format!("DELETE FROM {} WHERE {w}", info.target),
                    false,
                )
                .await?;
            }
            let sql = format!(
                "{} INTO {} ({cols}) VALUES {}",
                verb(idempotent),
                info.target,
                r.tuple
            );
            match run(conn, info, sql.clone(), r.enum_zero).await {
                Ok(_) => counts.inserted += 1,
                Err(CopyError::Conflict { .. }) if policy == ConflictPolicy::Ignore => {
                    counts.conflicts_skipped += 1
                }
                Err(CopyError::Conflict { .. }) if policy == ConflictPolicy::Overwrite => {
                    let w = locate(info, after, at)?;
                    run(
                        conn,
                        info,
                        format!("DELETE FROM {} WHERE {w}", info.target),
                        false,
                    )
                    .await?;
                    run(conn, info, sql, r.enum_zero).await?;
                    counts.conflicts_overwritten += 1;
                    counts.inserted += 1;
                }
                Err(CopyError::Conflict { .. }) => {
                    return Err(conflict(info, &r.key, at, true));
                }
                Err(e) => return Err(e),
            }
        }
        Change::Update(before, after) => {
            let w = locate(info, before, at)?;
            let mut set = String::new();
            let mut enum_zero = false;
            for (n, (i, name)) in info.written.iter().enumerate() {
                if n > 0 {
                    set.push(',');
                }
                let v = value_at(info, after, *i, at)?;
                enum_zero |= matches!(v, Value::Enum(0));
                let _ = write!(set, "{name} = ");
                lit(info, &mut set, v, *i, at)?;
            }
            let n = match run(
                conn,
                info,
                format!("UPDATE {} SET {set} WHERE {w}", info.target),
                enum_zero,
            )
            .await
            {
                // In the overlap window the new values may collide with a
                // row the copy read later: rewritten below.
                Err(CopyError::Conflict { .. }) if idempotent => 0,
                r => r?,
            };
            if n == 1 {
                counts.updated += 1;
            } else if idempotent || policy == ConflictPolicy::Overwrite {
                let r = render(info, after, at)?;
                if !info.key.is_empty() {
                    let wa = locate(info, after, at)?;
                    run(
                        conn,
                        info,
                        format!("DELETE FROM {} WHERE {wa}", info.target),
                        false,
                    )
                    .await?;
                }
                if idempotent && !info.key.is_empty() {
                    let wb = locate(info, before, at)?;
                    run(
                        conn,
                        info,
                        format!("DELETE FROM {} WHERE {wb}", info.target),
                        false,
                    )
                    .await?;
                }
                run(
                    conn,
                    info,
                    format!(
                        "{} INTO {} ({cols}) VALUES {}",
                        verb(idempotent),
                        info.target,
                        r.tuple
                    ),
                    r.enum_zero,
                )
                .await?;
                if !idempotent {
                    counts.conflicts_overwritten += 1;
                }
                counts.updated += 1;
            } else if policy == ConflictPolicy::Ignore {
                counts.conflicts_skipped += 1;
            } else {
                let k = if info.key.is_empty() {
                    render(info, before, at)?.tuple
                } else {
                    render_key(info, before, at)?
                };
                return Err(conflict(info, &k, at, false));
            }
        }
        Change::Delete(before) => {
            let w = locate(info, before, at)?;
            let n = run(
                conn,
                info,
                format!("DELETE FROM {} WHERE {w}", info.target),
                false,
            )
            .await?;
            if n == 1 {
                counts.deleted += 1;
            } else if idempotent || policy == ConflictPolicy::Overwrite {
                if !idempotent {
                    counts.conflicts_overwritten += 1;
                }
            } else if policy == ConflictPolicy::Ignore {
                counts.conflicts_skipped += 1;
            } else {
                let k = if info.key.is_empty() {
                    render(info, before, at)?.tuple
                } else {
                    render_key(info, before, at)?
                };
                return Err(conflict(info, &k, at, false));
            }
        }
    }
    Ok(())
}

/// A literal typed like the column, for evaluating a filter: strings in the
/// column's character set and collation, temporal values as temporal.
fn typed_literal(
    info: &TableInfo,
    out: &mut String,
    v: &Value,
    i: usize,
    at: &str,
) -> Result<(), CopyError> {
    let col = &info.meta.columns[i];
    if matches!(v, Value::Null) {
        out.push_str("NULL");
        return Ok(());
    }
    let cast = match col.data_type.as_str() {
        "date" => Some("DATE"),
        "datetime" | "timestamp" => Some("DATETIME(6)"),
        "time" => Some("TIME(6)"),
        _ => None,
    };
    if let (Some((cs, coll)), Value::Bytes(_) | Value::Json(_)) = (&col.collation, v) {
        out.push_str("CONVERT(");
        lit(info, out, v, i, at)?;
        let _ = write!(out, " USING {cs}) COLLATE {coll}");
    } else if let Some(c) = cast {
        out.push_str("CAST(");
        lit(info, out, v, i, at)?;
        let _ = write!(out, " AS {c})");
    } else {
        lit(info, out, v, i, at)?;
    }
    Ok(())
}

/// Evaluates the route's filter on row images, on the server (so that
/// collations and types behave as in the copy's WHERE): true where the row
/// is selected.
pub(crate) async fn eval_filter(
    conn: &mut Conn,
    info: &TableInfo,
    filter: &str,
    images: &[&[Option<Value>]],
    at: &str,
) -> Result<Vec<bool>, CopyError> {
    if images.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = format!("SELECT `__dts_i`, ({filter}) IS TRUE FROM (");
    for (n, img) in images.iter().enumerate() {
        if n > 0 {
            sql.push_str(" UNION ALL ");
        }
        let _ = write!(sql, "SELECT {n} AS `__dts_i`");
        for (i, c) in info.meta.columns.iter().enumerate() {
            let Some(Some(v)) = img.get(i) else { continue };
            sql.push_str(", ");
            typed_literal(info, &mut sql, v, i, at)?;
            let _ = write!(sql, " AS {}", server_dialect::quote(&c.name));
        }
    }
    sql.push_str(") AS `__dts_rows` ORDER BY `__dts_i`");
    let rows: Vec<(u64, Option<i64>)> = conn.query(sql).await.map_err(|e| CopyError::Table {
        table: info.source_name(),
        reason: format!("at {at}: evaluating the filter {filter:?} on changed rows failed: {e}"),
    })?;
    if rows.len() != images.len() {
        return Err(CopyError::Table {
            table: info.source_name(),
            reason: format!(
                "at {at}: the filter gave {} answers for {} rows",
                rows.len(),
                images.len()
            ),
        });
    }
    Ok(rows.into_iter().map(|(_, b)| b == Some(1)).collect())
}
