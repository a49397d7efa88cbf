//! The error type of schema-diff.

/// An error extracting, translating or comparing a schema.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A database call failed while reading the schema.
    #[error("{what} failed: {error}")]
    Database {
        /// What was being read (with the object).
        what: String,
        /// The driver's error.
        error: mysql_async::Error,
    },
    /// A text could not be tokenized as SQL.
    #[error("cannot tokenize SQL ({message}): {text}")]
    Tokenize {
        /// The tokenizer's message.
        message: String,
        /// The start of the text.
        text: String,
    },
    /// An internal rewrite was inconsistent (a bug: please report it with
    /// the object's SHOW CREATE text).
    #[error("internal rewrite error: {message}")]
    Rewrite {
        /// What went wrong.
        message: String,
    },
    /// A version string could not be read.
    #[error("cannot read the server version {text:?}")]
    Version {
        /// The text.
        text: String,
    },
    /// An object uses something the target cannot create, and no mapping
    /// exists for it.
    #[error("{object}: {construct} is not supported by the target ({target}); {hint}")]
    Unsupported {
        /// The object, e.g. `table `db`.`t``.
        object: String,
        /// The construct, e.g. `collation utf8mb4_0900_as_cs`.
        construct: String,
        /// The target server.
        target: String,
        /// What the user can do.
        hint: String,
    },
    /// An object's DDL does not have the shape the server prints, so it
    /// cannot be edited safely.
    #[error("{object}: unexpected DDL shape ({reason}); its text starts: {text}")]
    Shape {
        /// The object.
        object: String,
        /// What was expected.
        reason: String,
        /// The start of the text.
        text: String,
    },
    /// Several objects could not be translated; each error names its object.
    #[error("{} objects cannot be translated:\n{}", .0.len(), .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Many(Vec<SchemaError>),
    /// The configuration is inconsistent (e.g. two objects renamed to the
    /// same name).
    #[error("invalid configuration: {0}")]
    Config(String),
}

pub(crate) fn db_err(what: impl Into<String>) -> impl FnOnce(mysql_async::Error) -> SchemaError {
    let what = what.into();
    move |error| SchemaError::Database { what, error }
}
