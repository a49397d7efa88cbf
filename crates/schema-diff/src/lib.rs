//! Schema model, extraction, comparison and DDL translation.
//!
//! What it does: models databases, tables, views, triggers, routines and
//! events as read from `information_schema` and `SHOW CREATE`; compares two
//! models; translates DDL for the target (DEFINER to SQL SECURITY INVOKER,
//! renames, name-case policy, charset and collation mapping between MySQL and
//! MariaDB, foreign keys split out to be created after the data); orders it.
//!
//! What it deliberately does not do: run DDL or hold connections (its
//! functions are pure; `dts-core` runs what it plans), or re-print SQL from a
//! parsed AST (edits are made at token level so every other byte survives).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
