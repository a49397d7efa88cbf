//! Online verification: settling candidate differences while the target
//! follows the source (see the parent module's documentation).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mysql_async::prelude::*;
use mysql_async::{Conn, Value};

use super::report::{Difference, DifferenceKind, RowKey};
use super::rows::{self, RowDiff};
use super::{hash, record, OnlineOptions, Prepared, Shared, Side};
use binlog_reader::position::FilePosition;

use server_dialect::{DialectError, ServerVersion};

use bulk_copy::base::error::dialect_err;
use bulk_copy::base::error::{db_err, CopyError};
use bulk_copy::base::snapshot::{binlog_position, START_SNAPSHOT};

/// Reads the rows of `keys` on one side, by exact key bytes.
async fn rows_by_key(
    c: &mut Conn,
    side: &Side,
    server: &'static str,
    keys: &[Vec<Value>],
    key_idx: &[usize],
) -> Result<HashMap<Vec<u8>, Vec<Value>>, CopyError> {
    let mut out = HashMap::new();
    for batch in keys.chunks(200) {
        let mut ors = Vec::with_capacity(batch.len());
        let mut params = Vec::new();
        for k in batch {
            let ands: Vec<String> = side
                .key_names
                .iter()
                .zip(&side.key_params)
                .map(|(n, b)| format!("{n} = {}", b.placeholder))
                .collect();
            ors.push(format!("({})", ands.join(" AND ")));
            params.extend(k.iter().zip(&side.key_params).map(|(v, b)| b.bind(v)));
        }
        let mut sql = format!("{} WHERE ", side.select);
        if let Some(f) = &side.filter {
            sql.push_str(f);
            sql.push_str(" AND ");
        }
        sql.push_str(&format!("({})", ors.join(" OR ")));
        for row in rows::fetch(c, &sql, params, server, &side.table).await? {
            out.insert(rows::key_bytes(&row, key_idx), row);
        }
    }
    Ok(out)
}

/// Starts a consistent snapshot on the source and returns the binlog
/// position it is consistent with: MariaDB reports it exactly
/// (`binlog_snapshot_file/position`); elsewhere it is the master status
/// read before and after starting the snapshot, when both agree (no commit
/// in between), else the later one.
async fn begin_snapshot(
    src: &mut Conn,
    version: Option<&ServerVersion>,
) -> Result<Option<FilePosition>, CopyError> {
    let what = "starting a consistent snapshot for re-checks";
    for attempt in 0..5 {
        let before = binlog_position(src, version).await?;
        src.query_drop(START_SNAPSHOT)
            .await
            .map_err(db_err("source", what))?;
        match server_dialect::snapshot_binlog_position(src).await {
            Ok(Some(at)) => return Ok(Some(FilePosition::new(at.file, at.position))),
            // Not reported (not MariaDB), or not usable: the master status
            // around the start of the snapshot decides.
            Ok(None)
            | Err(DialectError::SnapshotPositionUnsupported | DialectError::NotANumber { .. }) => {}
            Err(e) => return Err(dialect_err("source")(e)),
        }
        let after = binlog_position(src, version).await?;
        if before == after || attempt == 4 {
            return Ok(after);
        }
        src.query_drop("ROLLBACK")
            .await
            .map_err(db_err("source", what))?;
    }
    Ok(None)
}

/// Ends the snapshot.
async fn end_snapshot(src: &mut Conn) -> Result<(), CopyError> {
    src.query_drop("COMMIT")
        .await
        .map_err(db_err("source", "ending a consistent snapshot"))
}

/// Waits until the target has applied past `pos` (with
/// [`OnlineOptions::applied`]; returns `true`), or for the fixed delay
/// (returns `false`: the target's position is unknown).
async fn wait_for_target(
    pos: Option<&FilePosition>,
    online: &OnlineOptions,
    table: &str,
) -> Result<bool, CopyError> {
    let (Some(applied), Some(pos)) = (&online.applied, pos) else {
        tokio::time::sleep(online.delay).await;
        return Ok(false);
    };
    let start = Instant::now();
    loop {
        if applied.applied_past(pos).await? {
            return Ok(true);
        }
        if start.elapsed() > online.wait_timeout {
            return Err(CopyError::Table {
                table: table.to_string(),
                reason: format!(
                    "online verification waited {} s for the target to apply the source up to \
                     {pos}, in vain: is incremental migration running? (raise the wait timeout \
                     if it is only behind)",
                    online.wait_timeout.as_secs()
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An observation of a key: both rows, encoded.
fn observation(s: Option<&Vec<Value>>, t: Option<&Vec<Value>>) -> Vec<u8> {
    let mut out = Vec::new();
    for row in [s, t] {
        match row {
            None => out.push(0),
            Some(r) => {
                out.push(1);
                for v in r {
                    rows::encode(v, &mut out);
                }
            }
        }
    }
    out
}

fn rows_same(a: Option<&Vec<Value>>, b: Option<&Vec<Value>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => x.len() == y.len() && x.iter().zip(y).all(|(u, v)| rows::same(u, v)),
        _ => false,
    }
}

/// One keyed table's candidates while they are re-checked.
struct Candidates<'a> {
    p: &'a Prepared,
    pending: Vec<Vec<Value>>,
    /// Per key: the last stable observation (source and target rows,
    /// encoded) and how many attempts in a row saw it.
    streak: HashMap<Vec<u8>, (Vec<u8>, u32)>,
    s1: HashMap<Vec<u8>, Vec<Value>>,
}

/// Online: settles the keyed tables' candidate differences (see the module
/// documentation), all tables in each attempt, so that one wait for the
/// target serves them all.
pub(super) async fn recheck(
    src: &mut Conn,
    tgt: &mut Conn,
    shared: &Shared,
    tables: &[std::sync::Arc<Prepared>],
    online: &OnlineOptions,
) -> Result<(), CopyError> {
    let mut open: Vec<Candidates<'_>> = tables
        .iter()
        .filter(|p| !p.key.is_empty())
        .map(|p| Candidates {
            p,
            pending: shared
                .with(p.index, |_, pending| std::mem::take(pending))
                .unwrap_or_default(),
            streak: HashMap::new(),
            s1: HashMap::new(),
        })
        .filter(|c| !c.pending.is_empty())
        .collect();
    let mut attempts = 0;
    while !open.is_empty() && attempts < online.rechecks.max(1) {
        attempts += 1;
        // Every table's source rows from one snapshot, at one position.
        let pos = begin_snapshot(src, shared.source_version.as_ref()).await?;
        for c in &mut open {
            let n = c.pending.len() as u64;
            shared.with(c.p.index, |r, _| r.rechecked += n);
            c.s1 = rows_by_key(src, &c.p.src, "source", &c.pending, &c.p.key).await?;
        }
        end_snapshot(src).await?;
        let waited_for = open
            .first()
            .map(|c| c.p.src.table.clone())
            .unwrap_or_default();
        let exact = wait_for_target(pos.as_ref(), online, &waited_for).await?;
        for c in &mut open {
            let p = c.p;
            let t = rows_by_key(tgt, &p.tgt, "target", &c.pending, &p.key).await?;
            let key_of = |k: &[Value]| {
                let mut kb = Vec::new();
                for v in k {
                    rows::encode(v, &mut kb);
                }
                kb
            };
            // The source again, for the rows that differ: one that has
            // reached the target's row was in flight; without the target's
            // position, so is one that changed at all.
            let differing: Vec<Vec<Value>> = c
                .pending
                .iter()
                .filter(|k| {
                    let kb = key_of(k);
                    !rows_same(c.s1.get(&kb), t.get(&kb))
                })
                .cloned()
                .collect();
            let now = rows_by_key(src, &p.src, "source", &differing, &p.key).await?;
            let mut next = Vec::new();
            let mut confirmed = Vec::new();
            for k in std::mem::take(&mut c.pending) {
                let kb = key_of(&k);
                let (a, tr) = (c.s1.get(&kb), t.get(&kb));
                if rows_same(a, tr) {
                    c.streak.remove(&kb);
                    continue;
                }
                let n_row = now.get(&kb);
                if rows_same(n_row, tr) || (!exact && !rows_same(a, n_row)) {
                    c.streak.remove(&kb);
                    next.push(k);
                    continue;
                }
                let seen = observation(a, tr);
                let n = match c.streak.get(&kb) {
                    Some((o, n)) if *o == seen => n + 1,
                    _ => 1,
                };
                if n < online.confirmations.max(1) {
                    c.streak.insert(kb, (seen, n));
                    next.push(k);
                    continue;
                }
                confirmed.push(match (a, tr) {
                    (Some(s), None) => RowDiff::Missing(s.clone()),
                    (None, Some(t)) => RowDiff::Extra(t.clone()),
                    (Some(s), Some(t)) => {
                        let cols = (0..s.len())
                            .filter(|&i| !rows::same(&s[i], t.get(i).unwrap_or(&Value::NULL)))
                            .collect();
                        RowDiff::Different(s.clone(), t.clone(), cols)
                    }
                    (None, None) => continue,
                });
            }
            record(shared, p, confirmed).await?;
            c.pending = next;
        }
        open.retain(|c| !c.pending.is_empty());
    }
    let max = shared.options.max_listed;
    for c in &open {
        let p = c.p;
        shared.with(p.index, |r, _| {
            for k in &c.pending {
                r.unsettled += 1;
                if r.differences.len() < max {
                    r.differences.push(Difference {
                        kind: DifferenceKind::Unsettled,
                        key: RowKey {
                            columns: p.key.iter().map(|&i| p.names[i].clone()).collect(),
                            values: k.clone(),
                        },
                        columns: Vec::new(),
                        count: 1,
                    });
                }
            }
        });
    }
    Ok(())
}

/// Online, for a multiset: settles candidate digests the way [`recheck`]
/// settles keys, on their row counts. Returns the confirmed surplus on each
/// side; digests still changing are counted as unsettled.
pub(super) async fn recheck_digests(
    src: &mut Conn,
    tgt: &mut Conn,
    shared: &Shared,
    p: &Prepared,
    online: &OnlineOptions,
    missing: HashMap<Vec<u8>, u64>,
    extra: HashMap<Vec<u8>, u64>,
) -> Result<(HashMap<Vec<u8>, u64>, HashMap<Vec<u8>, u64>), CopyError> {
    let mut pending: Vec<Vec<u8>> = missing.into_keys().chain(extra.into_keys()).collect();
    let (mut missing, mut extra) = (HashMap::new(), HashMap::new());
    let mut streak: HashMap<Vec<u8>, ((u64, u64), u32)> = HashMap::new();
    let mut attempts = 0;
    while !pending.is_empty() && attempts < online.rechecks.max(1) {
        attempts += 1;
        let n = pending.len() as u64;
        shared.with(p.index, |r, _| r.rechecked += n);
        let pos = begin_snapshot(src, shared.source_version.as_ref()).await?;
        let s1 = counts_by_digest(src, &p.src, "source", &pending).await?;
        end_snapshot(src).await?;
        let exact = wait_for_target(pos.as_ref(), online, &p.src.table).await?;
        let t = counts_by_digest(tgt, &p.tgt, "target", &pending).await?;
        let count = |m: &HashMap<Vec<u8>, u64>, h: &Vec<u8>| m.get(h).copied().unwrap_or(0);
        let differing: Vec<Vec<u8>> = pending
            .iter()
            .filter(|h| count(&s1, h) != count(&t, h))
            .cloned()
            .collect();
        let now = counts_by_digest(src, &p.src, "source", &differing).await?;
        let mut next = Vec::new();
        for h in pending {
            let (a, tn, b) = (count(&s1, &h), count(&t, &h), count(&now, &h));
            if a == tn {
                streak.remove(&h);
                continue;
            }
            if b == tn || (!exact && a != b) {
                streak.remove(&h);
                next.push(h);
                continue;
            }
            let n = match streak.get(&h) {
                Some((o, n)) if *o == (a, tn) => n + 1,
                _ => 1,
            };
            if n < online.confirmations.max(1) {
                streak.insert(h.clone(), ((a, tn), n));
                next.push(h);
                continue;
            }
            if a > tn {
                missing.insert(h, a - tn);
            } else {
                extra.insert(h, tn - a);
            }
        }
        pending = next;
    }
    if !pending.is_empty() {
        let max = shared.options.max_listed;
        shared.with(p.index, |r, _| {
            for h in &pending {
                r.unsettled += 1;
                if r.differences.len() < max {
                    r.differences.push(Difference {
                        kind: DifferenceKind::Unsettled,
                        key: RowKey {
                            columns: vec!["row digest".into()],
                            values: vec![Value::Bytes(h.clone())],
                        },
                        columns: Vec::new(),
                        count: 1,
                    });
                }
            }
        });
    }
    Ok((missing, extra))
}

/// Rows per digest on one side, for the digests asked (one scan of the
/// table per 5,000 digests).
async fn counts_by_digest(
    c: &mut Conn,
    side: &Side,
    server: &'static str,
    digests: &[Vec<u8>],
) -> Result<HashMap<Vec<u8>, u64>, CopyError> {
    let mut out = HashMap::new();
    let d = hash::row_digest(&side.expr);
    for batch in digests.chunks(5000) {
        let marks = vec!["?"; batch.len()].join(", ");
        let mut sql = format!("SELECT {d} AS h, COUNT(*) FROM {} WHERE ", side.table);
        if let Some(f) = &side.filter {
            sql.push_str(f);
            sql.push_str(" AND ");
        }
        sql.push_str(&format!("{d} IN ({marks}) GROUP BY h"));
        let params: Vec<Value> = batch.iter().map(|h| Value::Bytes(h.clone())).collect();
        let rows: Vec<(Vec<u8>, u64)> = c
            .exec(sql, params)
            .await
            .map_err(db_err(server, format!("counting rows of {}", side.table)))?;
        out.extend(rows);
    }
    Ok(out)
}
