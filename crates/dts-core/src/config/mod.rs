//! The task file (TOML) and the resolved task.
//!
//! A task file is read by [`TaskConfig::from_file`] (or
//! [`TaskConfig::from_toml`]): unknown keys are refused, every value is
//! checked, and an error names the key path (`retry.other_minutes`) and what
//! is allowed there. The result has every default filled in; [`TaskConfig`]
//! serializes to TOML again, which is what `dts config show` prints (the
//! reference product's "preview API parameters"), with passwords as `***`.
//!
//! This file is enough:
//!
//! ```
//! let task = dts_core::config::TaskConfig::from_toml(r#"
//! [source]
//! url = "mysql://root@127.0.0.1:3307"
//! [target]
//! url = "mysql://root@127.0.0.1:3308"
//! [[objects]]
//! database = "shop"
//! [migration]
//! types = ["schema", "full", "incremental"]
//! "#, None).unwrap();
//! assert_eq!(task.task, "default");
//! assert_eq!(task.retry.connection_minutes, 720);
//! ```
//!
//! **Task name.** `task = "NAME"` at the top; otherwise the file's name
//! without its extension (`shop.toml` is task `shop`), or `default` for a
//! file read from elsewhere. Runs with the same name resume each other.
//!
//! **Passwords.** Each endpoint takes at most one of: a password in the URL
//! (allowed in the file; it is moved out of the URL into a
//! [`Secret`](crate::secret::Secret) and the URL is shown without it),
//! `password_env = "NAME"` (an environment variable), or
//! `password_file = "/path"` (a file readable by its owner only: mode 0600
//! or stricter). With none, no password is sent.
//!
//! The files of this module: `raw` (the file as written), `model` (the
//! resolved task and the enumerated values), `resolve` (from one to the
//! other), `endpoint` (a server: password, TLS, connecting), `show`
//! (`dts config show`) and `command_line` ([`CommandLine`]: the task of a
//! command run without a task file, resolved by the same function).

use std::path::PathBuf;

mod command_line;
mod endpoint;
mod model;
mod raw;
mod resolve;
mod show;

pub use command_line::{CommandLine, FullArgs, IncrementalArgs, ServerArgs, VerifyArgs};
pub use endpoint::{server_offers_no_tls, Connected, Endpoint, PasswordSource, TlsMode};
pub use model::{
    AlertOptions, ConflictMode, CutoverOptions, DmlOp, FenceMode, FullOptions, HeartbeatMode,
    HeartbeatOptions, IncrementalOptions, IncrementalStart, Migration, MigrationType, NameCase,
    ObjectSelection, OnlineDdlMode, PlanConfig, PlanTarget, RenamedOut, RetryOptions, RowConflict,
    Snapshot, TableSelection, TaskConfig, TriggerMethod, VerificationOptions, ALL_DDL, ALL_DML,
};

/// A task file that cannot be used: where and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{key}: {message}", .file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default())]
pub struct ConfigError {
    /// The file, when read from one.
    pub file: Option<PathBuf>,
    /// The key path (`retry.other_minutes`, `objects[0].tables[2].filter`),
    /// or a line and column for a TOML syntax error.
    pub key: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

fn err(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        file: None,
        key: key.into(),
        message: message.into(),
    }
}
