//! The readers' snapshots: every reader connection inside a consistent
//! snapshot, with the binlog position it is consistent with (see the
//! module documentation of [`super`]).

use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use server_dialect::{Dialect, SnapshotMethod};

use binlog_reader::position::FilePosition;

use super::options::SnapshotMode;
use crate::base::error::{db_err, dialect_err, CopyError};
use crate::base::session::connect;
use crate::base::snapshot::{begin_reader_snapshot, binlog_position, snapshot_position};

/// Opens `n` reader connections inside consistent snapshots, and returns the
/// binlog position of each (`None` when the source has no binlog).
pub(super) async fn open_readers(
    source: &Opts,
    n: usize,
    mode: SnapshotMode,
) -> Result<(Vec<Conn>, Vec<Option<FilePosition>>), CopyError> {
    let mut control = connect(source, "source").await?;
    let version = server_dialect::server_version(&mut control)
        .await
        .map_err(dialect_err("source"))?;
    let mode = match mode {
        SnapshotMode::Auto => match Dialect::new(version.clone()).default_snapshot_method() {
            SnapshotMethod::ConsistentSnapshot => SnapshotMode::ConsistentSnapshot,
            SnapshotMethod::GlobalReadLock => SnapshotMode::FlushTablesWithReadLock,
            // The dialect names the watermark copy; until the copy has that
            // mode, a source the dialect gave it to is refused, never copied
            // under another method than the precheck judged.
            SnapshotMethod::Watermark => {
                return Err(CopyError::Unsupported {
                    reason: format!(
                        "the watermark snapshot ({version}'s default) is not available in this \
                         build: set [full] snapshot = \"ftwrl\""
                    ),
                })
            }
        },
        m => m,
    };
    let mut conns = Vec::with_capacity(n);
    let mut positions = Vec::with_capacity(n);
    match mode {
        SnapshotMode::FlushTablesWithReadLock => {
            control
                .query_drop("FLUSH TABLES WITH READ LOCK")
                .await
                .map_err(db_err(
                    "source",
                    "taking the global read lock (FLUSH TABLES WITH READ LOCK needs the RELOAD \
                     privilege)",
                ))?;
            let opened: Result<(), CopyError> = async {
                for _ in 0..n {
                    let mut c = connect(source, "source").await?;
                    begin_reader_snapshot(&mut c).await?;
                    conns.push(c);
                }
                Ok(())
            }
            .await;
            let status = if opened.is_ok() {
                binlog_position(&mut control, Some(&version)).await
            } else {
                Ok(None)
            };
            control
                .query_drop("UNLOCK TABLES")
                .await
                .map_err(db_err("source", "releasing the global read lock"))?;
            opened?;
            let p = status?;
            positions.resize(n, p);
        }
        _ => {
            for _ in 0..n {
                let mut c = connect(source, "source").await?;
                begin_reader_snapshot(&mut c).await?;
                let p = snapshot_position(&mut c).await?;
                conns.push(c);
                positions.push(p);
            }
        }
    }
    control.disconnect().await.ok();
    Ok((conns, positions))
}
