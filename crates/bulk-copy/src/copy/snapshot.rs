//! The readers' snapshots: every reader connection inside a consistent
//! snapshot, with the binlog position it is consistent with; or, for the
//! watermark snapshot, plain reader connections and the position the
//! copy's binlog reader starts at (see the module documentation of
//! [`super`]).

use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use server_dialect::{Dialect, ServerVersion, SnapshotMethod};

use binlog_reader::position::FilePosition;

use super::options::SnapshotMode;
use crate::base::error::{db_err, dialect_err, CopyError};
use crate::base::session::{connect, set_reader_session};
use crate::base::snapshot::{begin_reader_snapshot, binlog_position, snapshot_position};

/// The copy's reader connections.
pub(super) struct Readers {
    pub(super) conns: Vec<Conn>,
    /// Each reader's snapshot position (`None` when the source has no
    /// binlog, and for the watermark snapshot, whose positions are per
    /// chunk).
    pub(super) positions: Vec<Option<FilePosition>>,
    /// The snapshot mode, `Auto` resolved for the source.
    pub(super) mode: SnapshotMode,
    /// The source's version.
    pub(super) version: ServerVersion,
    /// Where the watermark snapshot's binlog reader starts: the source's
    /// position before any table was looked at.
    pub(super) start: Option<FilePosition>,
}

/// What `snapshot = "auto"` means for a source of this version: the
/// dialect's default method.
pub(super) fn resolve(mode: SnapshotMode, version: &ServerVersion) -> SnapshotMode {
    match mode {
        SnapshotMode::Auto => match Dialect::new(version.clone()).default_snapshot_method() {
            SnapshotMethod::ConsistentSnapshot => SnapshotMode::ConsistentSnapshot,
            SnapshotMethod::GlobalReadLock => SnapshotMode::FlushTablesWithReadLock,
            SnapshotMethod::Watermark => SnapshotMode::Watermark,
        },
        m => m,
    }
}

/// Opens `n` reader connections (see [`Readers`]).
pub(super) async fn open_readers(
    source: &Opts,
    n: usize,
    mode: SnapshotMode,
) -> Result<Readers, CopyError> {
    let mut control = connect(source, "source").await?;
    let version = server_dialect::server_version(&mut control)
        .await
        .map_err(dialect_err("source"))?;
    let mode = resolve(mode, &version);
    let mut conns = Vec::with_capacity(n);
    let mut positions = Vec::with_capacity(n);
    let mut start = None;
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
        SnapshotMode::Watermark => {
            // Before any table is looked at: a DDL after this position is
            // seen by the binlog reader.
            start = Some(
                binlog_position(&mut control, Some(&version))
                    .await?
                    .ok_or_else(|| CopyError::Unsupported {
                        reason: "the watermark snapshot reads the source's binary log, and the \
                                 source writes none (log_bin is off): turn it on, or use \
                                 snapshot = \"consistent\" on MariaDB"
                            .into(),
                    })?,
            );
            for _ in 0..n {
                let mut c = connect(source, "source").await?;
                set_reader_session(&mut c).await?;
                // Each chunk's locking read commits at once; READ COMMITTED
                // takes no gap locks, so inserts into a range being read
                // are never blocked.
                c.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                    .await
                    .map_err(db_err("source", "setting the reader session"))?;
                conns.push(c);
                positions.push(None);
            }
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
    Ok(Readers {
        conns,
        positions,
        mode,
        version,
        start,
    })
}
