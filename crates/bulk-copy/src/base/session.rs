//! Connections and the session settings every reader and writer of rows
//! pins, in one place: the text and time forms values travel in, and what
//! each kind of session allows.
//!
//! Every session reads and writes `utf8mb4` with `character_set_results =
//! NULL` (bytes as stored, never transcoded) and `time_zone = '+00:00'`
//! (TIMESTAMP values as stored). Sessions that write rows add a `sql_mode`
//! that keeps a 0 in an AUTO_INCREMENT column and never substitutes an
//! engine, and the largest warning list (a load is judged on its warnings).

use std::time::Duration;

use mysql_async::prelude::*;
use mysql_async::{Conn, Opts, OptsBuilder};

use crate::base::error::{db_err, CopyError};

/// The settings of every session: bytes as stored, times in UTC.
pub const SESSION: &str = "SET NAMES utf8mb4, character_set_results = NULL, time_zone = '+00:00'";

/// What a session loading rows adds to [`SESSION`]: no foreign-key checks
/// (the copy loads tables in any order), every warning kept, and a long
/// read timeout (a writer may wait for its reader mid-load).
const LOAD_SESSION: &str =
    "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION', \
     foreign_key_checks = 0, max_error_count = 65535, net_read_timeout = 3600";

/// The session applying changes: [`SESSION`] plus foreign-key and unique
/// checks on (the apply writes the source's committed order).
const APPLY_SESSION: &str =
    "SET NAMES utf8mb4, character_set_results = NULL, time_zone = '+00:00', \
     sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION', foreign_key_checks = 1, \
     unique_checks = 1, max_error_count = 65535, net_read_timeout = 3600";

/// A snapshot reader's session: readers may wait on a full queue
/// mid-result, so the server must not give up on them.
const READER_SESSION: &str = "SET SESSION net_write_timeout = 3600; \
     SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ";

/// The largest packet a connection that reads rows accepts (1 GiB, the
/// servers' ceiling for `max_allowed_packet`). A server sends a row longer
/// than its own `max_allowed_packet` (LOAD DATA stores such rows, and a
/// table may hold several long values under the limit each), and the
/// client would refuse it at the server's size. The client also cuts what
/// it sends at this size, so a connection that sends rows (a loader, the
/// applier) keeps the server's.
pub const READ_PACKET_BYTES: usize = 1 << 30;

/// `opts` for a connection that reads rows: see [`READ_PACKET_BYTES`].
pub fn reading(opts: &Opts) -> Opts {
    OptsBuilder::from_opts(opts.clone())
        .max_allowed_packet(Some(READ_PACKET_BYTES))
        .into()
}

/// Opens a connection with [`SESSION`]; `server` (`source` or `target`)
/// names it in errors. A source connection reads rows of any length
/// ([`READ_PACKET_BYTES`]).
///
/// # Errors
///
/// [`CopyError::Database`] when the connection or the settings fail.
pub async fn connect(opts: &Opts, server: &'static str) -> Result<Conn, CopyError> {
    if server == "source" {
        return connect_reading(opts, server).await;
    }
    open(opts.clone(), server).await
}

/// [`connect`] for a connection that reads rows of any length from either
/// server and sends no rows ([`READ_PACKET_BYTES`]): verification's.
///
/// # Errors
///
/// As [`connect`].
pub async fn connect_reading(opts: &Opts, server: &'static str) -> Result<Conn, CopyError> {
    open(reading(opts), server).await
}

async fn open(opts: Opts, server: &'static str) -> Result<Conn, CopyError> {
    let mut c = Conn::new(opts)
        .await
        .map_err(db_err(server, "connecting"))?;
    c.query_drop(SESSION)
        .await
        .map_err(db_err(server, "setting the session"))?;
    Ok(c)
}

/// Opens a target connection for loading rows ([`SESSION`] and the load
/// settings).
pub(crate) async fn connect_loader(target: &Opts) -> Result<Conn, CopyError> {
    let mut c = connect(target, "target").await?;
    c.query_drop(LOAD_SESSION)
        .await
        .map_err(db_err("target", "setting the load session"))?;
    Ok(c)
}

/// Opens the target connection that applies changes: found rows (not
/// changed rows) as affected counts, READ COMMITTED, and the lock wait
/// timeout asked for (whole seconds, at least 1).
pub(crate) async fn connect_applier(
    target: &Opts,
    lock_wait_timeout: Option<Duration>,
) -> Result<Conn, CopyError> {
    let opts = OptsBuilder::from_opts(target.clone()).client_found_rows(true);
    let mut c = Conn::new(opts)
        .await
        .map_err(db_err("target", "connecting"))?;
    c.query_drop(APPLY_SESSION)
        .await
        .map_err(db_err("target", "setting the apply session"))?;
    c.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .await
        .map_err(db_err("target", "setting the apply session"))?;
    if let Some(t) = lock_wait_timeout {
        let secs = t.as_secs_f64().ceil().max(1.0) as u64;
        c.query_drop(format!("SET SESSION innodb_lock_wait_timeout = {secs}"))
            .await
            .map_err(db_err(
                "target",
                "setting the apply session's lock wait timeout",
            ))?;
    }
    Ok(c)
}

/// Sets a source connection up as a snapshot reader (see
/// `crate::base::snapshot`).
pub(crate) async fn set_reader_session(c: &mut Conn) -> Result<(), CopyError> {
    c.query_drop(READER_SESSION)
        .await
        .map_err(db_err("source", "setting the reader session"))
}
