//! Index deferral: the plain secondary indexes of a large empty table
//! dropped before its load and added back once its rows are in, each
//! recorded in the checkpoint before it is dropped so that no stop can
//! lose it.

use mysql_async::prelude::*;
use mysql_async::Conn;
use server_dialect::quote;

use super::checkpoint::Checkpoint;
use super::prepare::Prepared;
use crate::base::error::{db_err, CopyError};

/// Drops the plain secondary indexes of an empty target table before its
/// load, recording them first (see [`CopyOptions::defer_indexes_min_bytes`]).
/// Leaves the table as it is when it is in a foreign key, when an index's
/// definition cannot be read back exactly, or when the server refuses the
/// drop (an AUTO_INCREMENT column whose only index it is, say).
pub(super) async fn defer_indexes(
    c: &mut Conn,
    cp: &Checkpoint,
    p: &Prepared,
) -> Result<(), CopyError> {
    let (db, table) = (p.target_db.as_str(), p.target_table.as_str());
    let read = |what: &str| db_err("target", format!("reading the {what} of {}", p.target));
    let fks: Option<i64> = c
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.referential_constraints \
             WHERE (constraint_schema = ? AND table_name = ?) \
                OR (unique_constraint_schema = ? AND referenced_table_name = ?)",
            (db, table, db, table),
        )
        .await
        .map_err(read("foreign keys"))?;
    if fks.unwrap_or(0) > 0 {
        return Ok(());
    }
    let names: Vec<String> = c
        .exec(
            "SELECT DISTINCT index_name FROM information_schema.statistics \
             WHERE table_schema = ? AND table_name = ? AND non_unique = 1 AND index_type = 'BTREE'",
            (db, table),
        )
        .await
        .map_err(read("indexes"))?;
    if names.is_empty() {
        return Ok(());
    }
    // Bytes: a binary column's default may not be UTF-8.
    let create: Option<(Vec<u8>, Vec<u8>)> = c
        .query_first(format!("SHOW CREATE TABLE {}", p.target))
        .await
        .map_err(read("definition"))?;
    let Some(create) = create.and_then(|(_, d)| String::from_utf8(d).ok()) else {
        return Ok(());
    };
    let indexes = match index_definitions(&create, &names) {
        Some(i) if !i.is_empty() => i,
        _ => return Ok(()),
    };
    cp.record_indexes(c, db, table, &indexes).await?;
    let drops: Vec<String> = indexes
        .iter()
        .map(|(n, _)| format!("DROP INDEX {}", quote(n)))
        .collect();
    match c
        .query_drop(format!("ALTER TABLE {} {}", p.target, drops.join(", ")))
        .await
    {
        Ok(()) => {
            tracing::info!(
                table = %p.target,
                indexes = %indexes.iter().map(|(n, _)| quote(n)).collect::<Vec<_>>().join(", "),
                "secondary indexes dropped for the load; they are added back when the table's rows \
                 are in (a copy that stops before adds them back when run again with the same task)"
            );
            Ok(())
        }
        // The records stay: an earlier run may have dropped some of these
        // indexes already (its ALTER finishing after it was killed). The
        // rebuild at the end adds back whichever are missing, then forgets.
        Err(e) => {
            tracing::debug!(table = %p.target, error = %e, "the indexes stay during the load");
            Ok(())
        }
    }
}

/// The plain indexes that can be dropped and added back without changing
/// the table's definition: of the named (plain B-tree) indexes, those after
/// every other key in the `SHOW CREATE TABLE` text, FULLTEXT keys aside
/// (the server lists those last whatever their age; an index added later is
/// listed after the keys that stay, so only a tail of the list can be
/// deferred). Their `KEY` clauses in order, or `None` when a name is not
/// found on exactly one line.
fn index_definitions(create: &str, names: &[String]) -> Option<Vec<(String, String)>> {
    let mut keys: Vec<(Option<&String>, &str)> = Vec::new();
    for line in create.lines() {
        let clause = line.trim().trim_end_matches(',');
        let is_key = [
            "PRIMARY KEY",
            "UNIQUE KEY",
            "KEY ",
            "SPATIAL KEY",
            "FULLTEXT KEY",
            "VECTOR KEY",
        ]
        .iter()
        .any(|k| clause.starts_with(k));
        if !is_key {
            continue;
        }
        let name = names
            .iter()
            .find(|n| clause.starts_with(&format!("KEY {} (", quote(n))));
        keys.push((name, clause));
    }
    let found = keys.iter().filter(|(n, _)| n.is_some()).count();
    let each_once = names
        .iter()
        .all(|n| keys.iter().filter(|(f, _)| *f == Some(n)).count() == 1);
    if found != names.len() || !each_once {
        return None;
    }
    let mut tail = Vec::new();
    for (name, clause) in keys.iter().rev() {
        if clause.starts_with("FULLTEXT KEY") {
            continue;
        }
        match name {
            Some(n) => tail.push(((*n).clone(), clause.to_string())),
            None => break,
        }
    }
    tail.reverse();
    Some(tail)
}

/// Adds back the indexes recorded as dropped for the table's load that the
/// table lacks, in one `ALTER TABLE`, then forgets them. Returns their
/// names.
pub(super) async fn rebuild_indexes(
    c: &mut Conn,
    cp: &Checkpoint,
    db: &str,
    table: &str,
) -> Result<Vec<String>, CopyError> {
    let target = format!("{}.{}", quote(db), quote(table));
    let recorded = cp.deferred_indexes(c, db, table).await?;
    if recorded.is_empty() {
        return Ok(Vec::new());
    }
    let mut added = Vec::new();
    // Twice at most: see the 1061 arm.
    for attempt in 0..2 {
        let present: Vec<String> = c
            .exec(
                "SELECT DISTINCT index_name FROM information_schema.statistics \
                 WHERE table_schema = ? AND table_name = ?",
                (db, table),
            )
            .await
            .map_err(db_err("target", format!("reading the indexes of {target}")))?;
        let missing: Vec<&(String, String)> = recorded
            .iter()
            .filter(|(n, _)| !present.iter().any(|x| x.eq_ignore_ascii_case(n)))
            .collect();
        if missing.is_empty() {
            break;
        }
        let adds: Vec<String> = missing.iter().map(|(_, d)| format!("ADD {d}")).collect();
        let sql = format!("ALTER TABLE {target} {}", adds.join(", "));
        match c.query_drop(&sql).await {
            Ok(()) => {
                added = missing.into_iter().map(|(n, _)| n.clone()).collect();
                break;
            }
            // The ALTER of a run killed while it built them went on in the
            // server and finished first: look again.
            Err(mysql_async::Error::Server(e)) if e.code == 1061 && attempt == 0 => {}
            Err(e) => {
                return Err(CopyError::Table {
                    table: target.clone(),
                    reason: format!(
                        "adding back the secondary indexes dropped for its load failed: {e}; run \
                         the copy again with the same task to retry, or add them yourself: {sql}"
                    ),
                })
            }
        }
    }
    cp.forget_indexes(c, db, table).await?;
    Ok(added)
}
