//! Tables without a usable key, compared as multisets of rows (see the
//! parent module's documentation).

use std::collections::HashMap;

use futures::StreamExt;
use mysql_async::prelude::*;
use mysql_async::{Conn, Value};

use super::report::{Difference, DifferenceKind};
use super::{hash, online, repair, rows, send_repair, side_hash, Prepared, Shared, Side};
use bulk_copy::base::error::{db_err, CopyError};

/// Compares a table without a usable key as a multiset of rows.
pub(super) async fn multiset(
    src: &mut Conn,
    tgt: &mut Conn,
    shared: &Shared,
    p: &Prepared,
) -> Result<(), CopyError> {
    let options = &shared.options;
    let where_of = |f: &Option<String>| {
        f.as_ref()
            .map(|f| format!(" WHERE {f}"))
            .unwrap_or_default()
    };
    let (sc, tc) = (where_of(&p.src.filter), where_of(&p.tgt.filter));
    let ((sn, sh), (tn, th)) = tokio::try_join!(
        side_hash(src, &p.src, "source", &sc, Vec::new(), hash::Aggregate::Sum),
        side_hash(tgt, &p.tgt, "target", &tc, Vec::new(), hash::Aggregate::Sum)
    )?;
    options.throttle.acquire(1, sn.max(tn), 0).await;
    options.progress.committed(p.index, sn, 0);
    shared.with(p.index, |r, _| {
        r.source_rows += sn;
        r.target_rows += tn;
    });
    if sn == tn && sh == th {
        return Ok(());
    }
    shared.with(p.index, |r, _| r.chunks_differing += 1);
    // Both sides' rows grouped by digest, in digest order, merged.
    let group = |side: &Side, cond: &str| {
        let d = hash::row_digest(&side.expr);
        format!(
            "SELECT {d} AS h, COUNT(*) FROM {}{cond} GROUP BY h ORDER BY h",
            side.table
        )
    };
    let (gs, gt) = (group(&p.src, &sc), group(&p.tgt, &tc));
    let mut missing: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut extra: HashMap<Vec<u8>, u64> = HashMap::new();
    {
        let e_s = || format!("grouping rows of {}", p.src.table);
        let e_t = || format!("grouping rows of {}", p.tgt.table);
        let mut rs = src
            .exec_iter(gs.as_str(), ())
            .await
            .map_err(db_err("source", e_s()))?;
        let mut rt = tgt
            .exec_iter(gt.as_str(), ())
            .await
            .map_err(db_err("target", e_t()))?;
        let mut ss = rs
            .stream::<(Vec<u8>, u64)>()
            .await
            .map_err(db_err("source", e_s()))?;
        let mut st = rt
            .stream::<(Vec<u8>, u64)>()
            .await
            .map_err(db_err("target", e_t()))?;
        async fn next<S>(
            s: &mut Option<S>,
            what: &'static str,
            e: String,
        ) -> Result<Option<(Vec<u8>, u64)>, CopyError>
        where
            S: futures::Stream<Item = Result<(Vec<u8>, u64), mysql_async::Error>> + Unpin,
        {
            match s {
                Some(s) => s.next().await.transpose().map_err(db_err(what, e)),
                None => Ok(None),
            }
        }
        let mut a = next(&mut ss, "source", e_s()).await?;
        let mut b = next(&mut st, "target", e_t()).await?;
        loop {
            match (a.take(), b.take()) {
                (None, None) => break,
                (Some((h, n)), None) => {
                    missing.insert(h, n);
                    a = next(&mut ss, "source", e_s()).await?;
                }
                (None, Some((h, n))) => {
                    extra.insert(h, n);
                    b = next(&mut st, "target", e_t()).await?;
                }
                (Some((h1, n1)), Some((h2, n2))) => match h1.cmp(&h2) {
                    std::cmp::Ordering::Less => {
                        missing.insert(h1, n1);
                        a = next(&mut ss, "source", e_s()).await?;
                        b = Some((h2, n2));
                    }
                    std::cmp::Ordering::Greater => {
                        extra.insert(h2, n2);
                        b = next(&mut st, "target", e_t()).await?;
                        a = Some((h1, n1));
                    }
                    std::cmp::Ordering::Equal => {
                        match n1.cmp(&n2) {
                            std::cmp::Ordering::Greater => {
                                missing.insert(h1, n1 - n2);
                            }
                            std::cmp::Ordering::Less => {
                                extra.insert(h1, n2 - n1);
                            }
                            std::cmp::Ordering::Equal => {}
                        }
                        a = next(&mut ss, "source", e_s()).await?;
                        b = next(&mut st, "target", e_t()).await?;
                    }
                },
            }
        }
    }
    if let Some(online) = &options.online {
        let (m, e) = online::recheck_digests(src, tgt, shared, p, online, missing, extra).await?;
        missing = m;
        extra = e;
    }
    // The rows behind the differing digests, one copy each.
    async fn rows_of(
        c: &mut Conn,
        side: &Side,
        server: &'static str,
        cond: &str,
        wanted: &HashMap<Vec<u8>, u64>,
    ) -> Result<Vec<(Vec<u8>, Vec<Value>)>, CopyError> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {}, {} FROM {}{cond}",
            hash::row_digest(&side.expr),
            side.cols
                .iter()
                .map(|c| c.quoted.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            side.table
        );
        let mut seen: HashMap<Vec<u8>, ()> = HashMap::new();
        let mut out = Vec::new();
        for mut row in rows::fetch_filtered(
            c,
            &sql,
            server,
            &side.table,
            |r| matches!(r.first(), Some(Value::Bytes(h)) if wanted.contains_key(h)),
        )
        .await?
        {
            let Value::Bytes(h) = row.remove(0) else {
                continue;
            };
            if seen.insert(h.clone(), ()).is_none() {
                out.push((h, row));
            }
        }
        Ok(out)
    }
    let src_rows = rows_of(src, &p.src, "source", &sc, &missing).await?;
    let tgt_rows = rows_of(tgt, &p.tgt, "target", &tc, &extra).await?;
    let max = options.max_listed;
    let mut statements = Vec::new();
    shared.with(p.index, |r, _| {
        for (kind, found, counts) in [
            (DifferenceKind::MissingOnTarget, &src_rows, &missing),
            (DifferenceKind::ExtraOnTarget, &tgt_rows, &extra),
        ] {
            for (h, row) in found {
                let n = counts.get(h).copied().unwrap_or(1);
                if kind == DifferenceKind::MissingOnTarget {
                    r.missing += n;
                } else {
                    r.extra += n;
                }
                if r.differences.len() < max {
                    r.differences.push(Difference {
                        kind,
                        key: p.row_key(row),
                        columns: Vec::new(),
                        count: n,
                    });
                }
            }
        }
    });
    if options.repair.is_some() {
        for (h, _) in &tgt_rows {
            let n = extra.get(h).copied().unwrap_or(1);
            statements.push(repair::delete_by_digest(
                &p.tgt.table,
                p.tgt.filter.as_deref(),
                &hash::row_digest(&p.tgt.expr),
                h,
                n,
            ));
        }
        for (h, row) in &src_rows {
            let n = missing.get(h).copied().unwrap_or(1);
            for _ in 0..n {
                statements.push(repair::insert(&p.tgt.table, &p.target_cols, row));
            }
        }
    }
    send_repair(shared, p, statements).await
}
