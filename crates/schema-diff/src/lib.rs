//! Schema model, extraction, comparison and DDL translation.
//!
//! What it does: models databases, tables, views, triggers, routines and
//! events as read from `information_schema` and `SHOW CREATE`; compares two
//! models; translates DDL for the target (DEFINER to SQL SECURITY INVOKER,
//! renames, name-case policy, charset and collation mapping between MySQL and
//! MariaDB, foreign keys split out to be created after the data); orders it.
//!
//! What it deliberately does not do: run DDL (`dts-core` runs what it plans),
//! or re-print SQL from a parsed AST (edits are made at token level so every
//! other byte survives). Only [`extract`] talks to a server, and only to read.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod binlog_ddl;
pub mod compare;
pub mod error;
pub mod extract;
pub mod ident;
pub mod model;
pub mod names;
pub mod plan;
pub mod tokens;
pub mod translate;
pub mod version;

pub use error::SchemaError;
pub use ident::{quote, unquote, CasePolicy};
pub use version::{Flavor, ServerVersion};
