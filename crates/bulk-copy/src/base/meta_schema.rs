//! The metadata schema: every table bulk-copy keeps its state in, defined
//! here and nowhere else, so that the whole schema reads in one place.
//!
//! They live on the target, in the task's metadata schema (`dts_meta` by
//! default), and each row is written in the same target transaction as the
//! rows it describes; one task's rows are keyed by its name. Names are
//! stored as VARBINARY: the servers' names are bytes in their own character
//! set, compared exactly.
//!
//! The full copy:
//! - `copy_range`: one row per key range of a table: its bounds, the last
//!   key committed (`done_key`, moved in each chunk's transaction), whether
//!   it is finished, and for a table loaded in one transaction the snapshot
//!   it was read at (`snap_file`, `snap_pos`);
//! - `copy_snapshot`: every snapshot position the copy read from, in every
//!   run (incremental migration starts at the lowest);
//! - `copy_index`: secondary indexes dropped for a load, with their
//!   definitions, until they are back.
//!
//! Incremental migration (the apply):
//! - `cdc_checkpoint`: the position applied to (committed with the rows),
//!   the copy's overlap end, the source's server id and counters, and
//!   `saved_position`: the same position with the server's identity and
//!   the exact GTID state there (`binlog_reader::position::SavedPosition`'s
//!   stored form), which a failover resumes from on another server;
//! - `cdc_prepared`: tasks whose shadow schema was recorded before the copy,
//!   with the source server it was recorded on (`mariadb:SERVER_ID` or
//!   `mysql:SERVER_UUID`): the copy's positions are that server's;
//! - `cdc_ddl`: the DDL journal (`started` before a DDL runs, `finished` in
//!   the transaction that saves its position);
//! - `cdc_online_ddl`: the ALTERs online-DDL tools ran on their ghost
//!   tables, kept until the swap;
//! - `cdc_copied_in`: tables a `RENAME TABLE` brought into the selection,
//!   created on the target by the apply for the rename at (`at_file`,
//!   `at_pos`) and copied from a snapshot at (`snap_file`, `snap_pos`): the
//!   DDL and rows of that table before the snapshot are in the copy.
//!
//! On the source, only when the task's heartbeat is on: `heartbeat`, one row
//! per task (see [`heartbeat_statement`]).

use mysql_async::prelude::*;
use mysql_async::Conn;
use server_dialect::quote;

use crate::base::error::{db_err, CopyError};

/// The apply's checkpoint table.
pub(crate) const CDC_CHECKPOINT: &str = "cdc_checkpoint";
/// The ALTERs online-DDL tools ran on their ghost tables, kept until the
/// swap.
pub(crate) const CDC_ONLINE_DDL: &str = "cdc_online_ddl";

/// Tables a RENAME brought into the selection, copied by the apply.
pub(crate) const CDC_COPIED_IN: &str = "cdc_copied_in";

/// Every table of the metadata schema defined here, each keyed by the
/// task's name in its `task` column: what `dts release` clears of a task.
pub const TASK_TABLES: &[&str] = &[
    "copy_range",
    "copy_snapshot",
    "copy_index",
    CDC_CHECKPOINT,
    "cdc_prepared",
    "cdc_ddl",
    CDC_ONLINE_DDL,
    CDC_COPIED_IN,
];

/// Creates the schema `schema` (unquoted) and the copy's tables, and adds
/// the columns later versions added to a `copy_range` made by an earlier
/// one.
pub(crate) async fn ensure_copy_tables(c: &mut Conn, schema: &str) -> Result<(), CopyError> {
    let s = quote(schema);
    let stmts = [
        format!("CREATE DATABASE IF NOT EXISTS {s}"),
        format!(
            "CREATE TABLE IF NOT EXISTS {s}.`copy_range` (
               `task` VARBINARY(255) NOT NULL,
               `target_db` VARBINARY(255) NOT NULL,
               `target_table` VARBINARY(255) NOT NULL,
               `range_no` INT UNSIGNED NOT NULL,
               `method` VARCHAR(16) NOT NULL,
               `lo_key` MEDIUMBLOB NULL,
               `hi_key` MEDIUMBLOB NULL,
               `done_key` MEDIUMBLOB NULL,
               `finished` TINYINT NOT NULL DEFAULT 0,
               `rows_copied` BIGINT UNSIGNED NOT NULL DEFAULT 0,
               `bytes_copied` BIGINT UNSIGNED NOT NULL DEFAULT 0,
               `snap_file` VARBINARY(512) NULL,
               `snap_pos` BIGINT UNSIGNED NULL,
               `updated_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
                  ON UPDATE CURRENT_TIMESTAMP(6),
               PRIMARY KEY (`task`, `target_db`, `target_table`, `range_no`)
             ) ENGINE=InnoDB"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {s}.`copy_snapshot` (
               `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
               `task` VARBINARY(255) NOT NULL,
               `binlog_file` VARBINARY(512) NOT NULL,
               `binlog_pos` BIGINT UNSIGNED NOT NULL,
               `taken_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
               KEY (`task`)
             ) ENGINE=InnoDB"
        ),
        // Secondary indexes dropped for a load, until they are back.
        format!(
            "CREATE TABLE IF NOT EXISTS {s}.`copy_index` (
               `task` VARBINARY(255) NOT NULL,
               `target_db` VARBINARY(255) NOT NULL,
               `target_table` VARBINARY(255) NOT NULL,
               `index_name` VARBINARY(255) NOT NULL,
               `ord` INT UNSIGNED NOT NULL,
               `definition` MEDIUMBLOB NOT NULL,
               PRIMARY KEY (`task`, `target_db`, `target_table`, `index_name`)
             ) ENGINE=InnoDB"
        ),
    ];
    for st in stmts {
        c.query_drop(st).await.map_err(db_err(
            "target",
            format!("creating the metadata schema {s}"),
        ))?;
    }
    // Added later: the snapshot of a one-transaction load.
    let has: Option<i64> = c
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = ? \
             AND table_name = 'copy_range' AND column_name = 'snap_pos'",
            (schema,),
        )
        .await
        .map_err(db_err("target", "reading the metadata schema"))?;
    if has == Some(0) {
        // A table made by an earlier version. Another copy starting at
        // the same moment may add the columns first (1060).
        match c
            .query_drop(format!(
                "ALTER TABLE {s}.`copy_range` ADD COLUMN `snap_file` VARBINARY(512) NULL, \
                 ADD COLUMN `snap_pos` BIGINT UNSIGNED NULL"
            ))
            .await
        {
            Err(mysql_async::Error::Server(e)) if e.code == 1060 => {}
            r => r.map_err(db_err(
                "target",
                format!("updating the metadata schema {s}"),
            ))?,
        }
    }
    Ok(())
}

/// Creates the schema `schema` (unquoted) and the apply's tables.
pub(crate) async fn ensure_apply_tables(c: &mut Conn, schema: &str) -> Result<(), CopyError> {
    let s = quote(schema);
    for st in [
        format!("CREATE DATABASE IF NOT EXISTS {s}"),
        format!(
            "CREATE TABLE IF NOT EXISTS {s}.`{CDC_CHECKPOINT}` (
               `task` VARBINARY(255) NOT NULL PRIMARY KEY,
               `binlog_file` VARBINARY(512) NOT NULL,
               `binlog_pos` BIGINT UNSIGNED NOT NULL,
               `overlap_file` VARBINARY(512) NULL,
               `overlap_pos` BIGINT UNSIGNED NULL,
               `source_server_id` BIGINT UNSIGNED NOT NULL,
               `saved_position` TEXT NULL,
               `event_time` BIGINT UNSIGNED NOT NULL DEFAULT 0,
               `transactions` BIGINT UNSIGNED NOT NULL DEFAULT 0,
               `rows_applied` BIGINT UNSIGNED NOT NULL DEFAULT 0,
               `updated_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
                  ON UPDATE CURRENT_TIMESTAMP(6)
             ) ENGINE=InnoDB"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {s}.`cdc_prepared` (
               `task` VARBINARY(255) NOT NULL PRIMARY KEY,
               `prepared_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
               `source_server` VARBINARY(64) NULL
             ) ENGINE=InnoDB"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {s}.`cdc_ddl` (
               `task` VARBINARY(255) NOT NULL,
               `binlog_file` VARBINARY(512) NOT NULL,
               `binlog_pos` BIGINT UNSIGNED NOT NULL,
               `state` VARCHAR(16) NOT NULL,
               `source_statement` MEDIUMBLOB NOT NULL,
               `target_statement` MEDIUMBLOB NULL,
               `updated_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
                  ON UPDATE CURRENT_TIMESTAMP(6),
               PRIMARY KEY (`task`, `binlog_file`, `binlog_pos`)
             ) ENGINE=InnoDB"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {s}.`{CDC_ONLINE_DDL}` (
               `task` VARBINARY(255) NOT NULL,
               `source_db` VARBINARY(255) NOT NULL,
               `ghost` VARBINARY(255) NOT NULL,
               `binlog_file` VARBINARY(512) NOT NULL,
               `binlog_pos` BIGINT UNSIGNED NOT NULL,
               `default_db` VARBINARY(255) NOT NULL,
               `statement` MEDIUMBLOB NOT NULL,
               `applied` TINYINT NOT NULL DEFAULT 0,
               PRIMARY KEY (`task`, `source_db`, `ghost`, `binlog_file`, `binlog_pos`)
             ) ENGINE=InnoDB"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {s}.`{CDC_COPIED_IN}` (
               `task` VARBINARY(255) NOT NULL,
               `source_db` VARBINARY(255) NOT NULL,
               `source_table` VARBINARY(255) NOT NULL,
               `at_file` VARBINARY(512) NOT NULL,
               `at_pos` BIGINT UNSIGNED NOT NULL,
               `snap_file` VARBINARY(512) NULL,
               `snap_pos` BIGINT UNSIGNED NULL,
               PRIMARY KEY (`task`, `source_db`, `source_table`)
             ) ENGINE=InnoDB"
        ),
    ] {
        c.query_drop(st).await.map_err(db_err(
            "target",
            format!("creating the metadata schema {s}"),
        ))?;
    }
    // Added later: the GTID state beside the file position (a checkpoint
    // of an earlier version has none until its next commit), and the
    // server the preparation (the copy's source) was made on.
    add_column(
        c,
        schema,
        CDC_CHECKPOINT,
        "saved_position",
        "TEXT NULL AFTER `source_server_id`",
    )
    .await?;
    add_column(
        c,
        schema,
        "cdc_prepared",
        "source_server",
        "VARBINARY(64) NULL",
    )
    .await?;
    Ok(())
}

/// Adds a column a later version added to a table an earlier one made.
async fn add_column(
    c: &mut Conn,
    schema: &str,
    table: &str,
    column: &str,
    definition: &str,
) -> Result<(), CopyError> {
    let has: Option<i64> = c
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = ? \
             AND table_name = ? AND column_name = ?",
            (schema, table, column),
        )
        .await
        .map_err(db_err("target", "reading the metadata schema"))?;
    if has == Some(0) {
        // Another run adding it at the same moment: 1060.
        match c
            .query_drop(format!(
                "ALTER TABLE {}.{} ADD COLUMN {} {definition}",
                quote(schema),
                quote(table),
                quote(column)
            ))
            .await
        {
            Err(mysql_async::Error::Server(e)) if e.code == 1060 => {}
            r => r.map_err(db_err(
                "target",
                format!("updating the metadata schema {}", quote(schema)),
            ))?,
        }
    }
    Ok(())
}

/// The statements that create the heartbeat table `db`.`table` on the
/// source (both unquoted): one row per task, the source's time in
/// microseconds, rewritten every interval so that its change in the binlog
/// measures the lag.
pub(crate) fn heartbeat_statement(db: &str, table: &str) -> String {
    format!(
        "CREATE DATABASE IF NOT EXISTS {}; CREATE TABLE IF NOT EXISTS {}.{} (\
           task VARBINARY(255) NOT NULL PRIMARY KEY, ts_us BIGINT UNSIGNED NOT NULL) ENGINE=InnoDB",
        quote(db),
        quote(db),
        quote(table)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_tables_lists_every_table_created_here() {
        let src = include_str!("meta_schema.rs");
        let marker = concat!("CREATE TABLE IF NOT EXISTS {s}", ".`");
        let mut n = 0;
        for part in src.split(marker).skip(1) {
            let name = part.split('`').next().expect("a name");
            let name = match name {
                "{CDC_CHECKPOINT}" => CDC_CHECKPOINT,
                "{CDC_ONLINE_DDL}" => CDC_ONLINE_DDL,
                "{CDC_COPIED_IN}" => CDC_COPIED_IN,
                n => n,
            };
            assert!(TASK_TABLES.contains(&name), "{name} is not in TASK_TABLES");
            n += 1;
        }
        assert_eq!(
            n,
            TASK_TABLES.len(),
            "TASK_TABLES lists a table never created"
        );
    }
}
