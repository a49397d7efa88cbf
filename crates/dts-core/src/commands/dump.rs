//! `dts binlog dump`: the events of binlog files, or of a server's binlog
//! stream, handed to the caller one by one.

use std::path::PathBuf;

use binlog_reader::{BinlogStreamReader, Event, FileReader, StreamConfig, StreamStart};

use crate::config::Endpoint;
use crate::task::error::TaskError;

/// Where `dts binlog dump` reads.
#[derive(Clone, Debug)]
pub enum DumpSource {
    /// Binlog files, in the order given.
    Files {
        /// The files.
        paths: Vec<PathBuf>,
        /// Follow ROTATE events to the next file in the same directory.
        follow: bool,
    },
    /// A server's binlog stream.
    Server {
        /// The server (its TLS policy applies); boxed, the endpoint being
        /// large beside the other variant.
        source: Box<Endpoint>,
        /// The binlog file to start from (`None`: the first one the server
        /// has).
        start_file: Option<String>,
        /// The offset to start from.
        start_pos: u64,
        /// Stop at the end of the binlog instead of waiting for new events.
        stop_at_end: bool,
    },
}

/// Reads every event from `from` and hands it to `each`, in order; returns
/// how many there were.
///
/// # Errors
///
/// A file that cannot be read, is corrupt or truncated (naming the file,
/// the offset and the cause), a stream that fails, or `each`'s error (a
/// broken pipe ends a dump that is piped into `head`).
pub async fn binlog_dump(
    from: DumpSource,
    mut each: impl FnMut(&Event) -> std::io::Result<()>,
) -> Result<u64, TaskError> {
    let mut n = 0u64;
    match from {
        DumpSource::Files { paths, follow } => {
            let mut reader = FileReader::new(&paths).follow_rotations(follow);
            while let Some(ev) = reader.next_event()? {
                each(&ev).map_err(TaskError::Output)?;
                n += 1;
            }
        }
        DumpSource::Server {
            source,
            start_file,
            start_pos,
            stop_at_end,
        } => {
            let mut cfg = StreamConfig::new(
                source.connect_opts().await,
                // A server id no real replica is likely to use.
                4_000_000_000 - std::process::id() % 1000,
                StreamStart::File(start_file, start_pos),
            );
            cfg.non_blocking = stop_at_end;
            let mut reader = BinlogStreamReader::connect(cfg)
                .await
                .map_err(|e| TaskError::Stream(Box::new(e)))?;
            while let Some(ev) = reader
                .next()
                .await
                .map_err(|e| TaskError::Stream(Box::new(e)))?
            {
                each(&ev).map_err(TaskError::Output)?;
                n += 1;
            }
        }
    }
    Ok(n)
}
