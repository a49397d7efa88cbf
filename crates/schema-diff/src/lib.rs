//! Schema model, extraction, comparison and DDL translation.
//!
//! What it does: models databases, tables, views, triggers, routines and
//! events as read from `information_schema` and `SHOW CREATE`
//! ([`model::Schema`], read by [`extract::extract_schema`]); compares two
//! models ([`compare`]); translates DDL for the target (DEFINER to SQL
//! SECURITY INVOKER, renames, name-case policy, charset and collation mapping
//! between MySQL and MariaDB, foreign keys split out to be created after the
//! data) and orders it ([`plan::plan`], a [`plan::Plan`] of statements by
//! [`plan::Phase`] with warnings, which prints as a client script); keeps a
//! model up to date with the DDL of a binlog ([`binlog_ddl`]).
//!
//! What it deliberately does not do: run DDL (`dts-core` runs what it plans),
//! or re-print SQL from a parsed AST (edits are made at token level so every
//! other byte survives). Only [`extract`] talks to a server, and only to read.
//!
//! # Example
//!
//! A MariaDB table planned for MySQL 8.0, without a server: the model holds
//! the table's `SHOW CREATE TABLE` text, and the plan is that text with the
//! collation MySQL lacks mapped (and a warning saying so); every other byte
//! is kept.
//!
//! ```
//! use schema_diff::model::{Database, Schema, Table};
//! use schema_diff::names::NameMap;
//! use schema_diff::plan::{plan, Phase};
//! use schema_diff::translate::{DefinerPolicy, TranslateOptions};
//! use schema_diff::ServerVersion;
//!
//! let create = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) \
//!               ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_ai_ci";
//! let schema = Schema {
//!     server: Some(ServerVersion::parse("11.4.2-MariaDB")?),
//!     databases: vec![Database {
//!         name: "shop".into(),
//!         charset: "utf8mb4".into(),
//!         collation: "utf8mb4_uca1400_ai_ci".into(),
//!         create_sql: "CREATE DATABASE `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 \
//!                      COLLATE utf8mb4_uca1400_ai_ci */"
//!             .into(),
//!         tables: vec![Table {
//!             name: "t".into(),
//!             create_sql: create.into(),
//!             ..Table::default()
//!         }],
//!         ..Database::default()
//!     }],
//! };
//! let opts = TranslateOptions {
//!     target: ServerVersion::parse("8.0.36")?,
//!     names: NameMap::default(),
//!     definer: DefinerPolicy::Invoker,
//! };
//! let p = plan(&schema, &opts)?;
//! let table = p.phase(Phase::Tables).next().expect("the table");
//! assert_eq!(
//!     table.sql,
//!     "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) \
//!      ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci"
//! );
//! assert!(p.warnings.iter().any(|w| w.message.contains("utf8mb4_uca1400_ai_ci")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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
