//! Online verification's view of a task: how far its incremental migration
//! has applied the source's binlog, from its checkpoint.

use binlog_reader::position::FilePosition;
use bulk_copy::CopyError;
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};

use crate::config::TaskConfig;

use super::sql::quote;

/// How far a task's incremental migration has applied the source's binlog,
/// read from its checkpoint: what online verification waits for.
pub struct CheckpointApplied {
    target: Opts,
    meta: String,
    task: String,
}

impl CheckpointApplied {
    /// For `cfg`'s task, on `target`.
    pub fn new(cfg: &TaskConfig, target: Opts) -> Self {
        CheckpointApplied {
            target,
            meta: cfg.target.meta_schema.clone(),
            task: cfg.task.clone(),
        }
    }
}

impl row_verify::AppliedPosition for CheckpointApplied {
    fn applied_past<'a>(
        &'a self,
        pos: &'a FilePosition,
    ) -> futures::future::BoxFuture<'a, Result<bool, CopyError>> {
        Box::pin(async move {
            let mut c =
                Conn::new(self.target.clone())
                    .await
                    .map_err(|error| CopyError::Database {
                        server: "target",
                        what: "reading the incremental checkpoint".into(),
                        error,
                    })?;
            let r: Option<(Vec<u8>, u64)> = c
                .exec_first(
                    format!(
                        "SELECT binlog_file, binlog_pos FROM {}.`cdc_checkpoint` WHERE task = ?",
                        quote(&self.meta)
                    ),
                    (&self.task,),
                )
                .await
                .map_err(|error| CopyError::Database {
                    server: "target",
                    what: "reading the incremental checkpoint".into(),
                    error,
                })?;
            c.disconnect().await.ok();
            Ok(r.is_some_and(|(f, p)| FilePosition::new(String::from_utf8_lossy(&f), p) >= *pos))
        })
    }
}
