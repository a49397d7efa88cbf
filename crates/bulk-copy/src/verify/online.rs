//! Online verification: settling candidate differences while the target
//! follows the source (see the parent module's documentation).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mysql_async::prelude::*;
use mysql_async::{Conn, Value};

use super::report::{Difference, DifferenceKind, RowKey};
use super::rows::{self, RowDiff};
use super::{hash, record, OnlineOptions, Prepared, Shared, Side};
use crate::copy::master_status;
use crate::error::{db_err, CopyError};

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
            let ands: Vec<String> = side.key_names.iter().map(|n| format!("{n} = ?")).collect();
            ors.push(format!("({})", ands.join(" AND ")));
            params.extend(k.iter().cloned());
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

/// Waits until the target has applied past the source's current position,
/// or for the fixed delay.
async fn wait_for_target(
    src: &mut Conn,
    online: &OnlineOptions,
    table: &str,
) -> Result<(), CopyError> {
    let pos = match &online.applied {
        Some(_) => master_status(src).await?,
        None => None,
    };
    let (Some(applied), Some(pos)) = (&online.applied, pos) else {
        tokio::time::sleep(online.delay).await;
        return Ok(());
    };
    let start = Instant::now();
    loop {
        if applied.applied_past(&pos).await? {
            return Ok(());
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
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn rows_same(a: Option<&Vec<Value>>, b: Option<&Vec<Value>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => x.len() == y.len() && x.iter().zip(y).all(|(u, v)| rows::same(u, v)),
        _ => false,
    }
}

/// Online: settles a keyed table's candidate differences (see the module
/// documentation).
pub(super) async fn recheck(
    src: &mut Conn,
    tgt: &mut Conn,
    shared: &Shared,
    p: &Prepared,
    online: &OnlineOptions,
) -> Result<(), CopyError> {
    if p.key.is_empty() {
        return Ok(());
    }
    let mut pending: Vec<Vec<Value>> = shared
        .with(p.index, |_, pending| std::mem::take(pending))
        .unwrap_or_default();
    // The key's positions within a key-only row.
    let kidx: Vec<usize> = p.key.clone();
    let mut attempts = 0;
    while !pending.is_empty() && attempts < online.rechecks.max(1) {
        attempts += 1;
        let n = pending.len() as u64;
        shared.with(p.index, |r, _| r.rechecked += n);
        let s1 = rows_by_key(src, &p.src, "source", &pending, &kidx).await?;
        wait_for_target(src, online, &p.src.table).await?;
        let t = rows_by_key(tgt, &p.tgt, "target", &pending, &kidx).await?;
        let s2 = rows_by_key(src, &p.src, "source", &pending, &kidx).await?;
        let mut next = Vec::new();
        let mut confirmed = Vec::new();
        for k in pending {
            let kb = {
                let mut b = Vec::new();
                for v in &k {
                    rows::encode(v, &mut b);
                }
                b
            };
            let (a, tr, b) = (s1.get(&kb), t.get(&kb), s2.get(&kb));
            if rows_same(a, tr) {
                continue;
            }
            if !rows_same(a, b) {
                next.push(k);
                continue;
            }
            confirmed.push(match (b, tr) {
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
        pending = next;
    }
    if !pending.is_empty() {
        let max = shared.options.max_listed;
        shared.with(p.index, |r, _| {
            for k in &pending {
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
    let mut attempts = 0;
    while !pending.is_empty() && attempts < online.rechecks.max(1) {
        attempts += 1;
        let n = pending.len() as u64;
        shared.with(p.index, |r, _| r.rechecked += n);
        let s1 = counts_by_digest(src, &p.src, "source", &pending).await?;
        wait_for_target(src, online, &p.src.table).await?;
        let t = counts_by_digest(tgt, &p.tgt, "target", &pending).await?;
        let s2 = counts_by_digest(src, &p.src, "source", &pending).await?;
        let mut next = Vec::new();
        for h in pending {
            let (a, tn, b) = (
                s1.get(&h).copied().unwrap_or(0),
                t.get(&h).copied().unwrap_or(0),
                s2.get(&h).copied().unwrap_or(0),
            );
            if a == tn {
                continue;
            }
            if a != b {
                next.push(h);
                continue;
            }
            if b > tn {
                missing.insert(h, b - tn);
            } else {
                extra.insert(h, tn - b);
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
/// table per 500 digests).
async fn counts_by_digest(
    c: &mut Conn,
    side: &Side,
    server: &'static str,
    digests: &[Vec<u8>],
) -> Result<HashMap<Vec<u8>, u64>, CopyError> {
    let mut out = HashMap::new();
    let d = hash::row_digest(&side.expr);
    for batch in digests.chunks(500) {
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
