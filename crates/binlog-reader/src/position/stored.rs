//! The stored form of a checkpoint's position: where in the binlog, which
//! server, and exactly which transactions the source had executed there.
//!
//! A checkpoint row holds one [`SavedPosition`] as one line of JSON text:
//!
//! ```text
//! {"format":"dts.position","version":1,"flavor":"mariadb","server_id":1,"server_uuid":null,"file":"mariadb-bin.000002","offset":1234,"gtid":"0-1-100,2-1-5","crc32":"…"}
//! ```
//!
//! - `flavor` says how to read `gtid`: a MySQL GTID set (`mysql`, every gap
//!   kept) or a MariaDB GTID position (`mariadb`, one GTID per domain);
//!   `gtid` is `null` when the position has no GTID state (a MySQL server
//!   with `gtid_mode=OFF`, or a position whose state was never known).
//! - `server_id` and `server_uuid` name the server the position was read
//!   from (MariaDB has no `server_uuid`: it is `null` there and required on
//!   MySQL), so that a position is never used on another server by
//!   mistake: file offsets mean nothing elsewhere.
//! - `crc32` is the CRC-32 (IEEE, zlib's `crc32`) of the same text without
//!   its `,"crc32":"…"` member, as 8 lowercase hexadecimal digits, so that a
//!   value edited or cut after dts wrote it is refused (catalogue C12). It
//!   guards against accidents and hand edits, not against someone who
//!   recomputes it.
//!
//! The parser is strict: only the exact text [`SavedPosition`]'s `Display`
//! writes is accepted (fields in this order, no spaces, canonical GTID
//! text), and every refusal names what is wrong. A later format gets a new
//! `version`, which this parser refuses by name rather than misreading.
//! Golden tests (`tests/saved_position.rs` and `tests/golden/`) pin the
//! form, so that a change of format is a visible diff.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::{
    compare_binlog_file_names, FilePosition, GtidSet, MariadbGtidPosition, PositionParseError, Uuid,
};

/// The `format` field of the stored form.
const FORMAT: &str = "dts.position";
/// The version of the stored form this code writes and reads.
pub const SAVED_POSITION_VERSION: u64 = 1;
/// The longest binlog file name accepted, in bytes (the metadata tables
/// keep file names in `VARBINARY(512)` columns).
const MAX_FILE_NAME: usize = 512;

/// Which family of servers a position comes from: it decides what a GTID
/// is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// MySQL (and MySQL-compatible servers such as PolarDB for MySQL):
    /// `uuid[:tag]:gno` GTIDs, executed sets.
    Mysql,
    /// MariaDB: `domain-server-sequence` GTIDs, positions per domain.
    Mariadb,
}

impl Flavor {
    /// The name in the stored form: `mysql` or `mariadb`.
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Mysql => "mysql",
            Flavor::Mariadb => "mariadb",
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavor::Mysql => "MySQL",
            Flavor::Mariadb => "MariaDB",
        })
    }
}

/// The server a position was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceIdentity {
    /// A MySQL server: its `@@server_uuid` names it; its `@@server_id` is
    /// kept for messages.
    Mysql {
        /// `@@server_uuid`.
        server_uuid: Uuid,
        /// `@@server_id`.
        server_id: u32,
    },
    /// A MariaDB server, which has no server UUID: `@@server_id` names it.
    Mariadb {
        /// `@@server_id`.
        server_id: u32,
    },
}

impl SourceIdentity {
    /// The server's flavor.
    pub fn flavor(&self) -> Flavor {
        match self {
            SourceIdentity::Mysql { .. } => Flavor::Mysql,
            SourceIdentity::Mariadb { .. } => Flavor::Mariadb,
        }
    }

    /// `@@server_id`.
    pub fn server_id(&self) -> u32 {
        match *self {
            SourceIdentity::Mysql { server_id, .. } | SourceIdentity::Mariadb { server_id } => {
                server_id
            }
        }
    }

    /// `@@server_uuid` (MySQL only).
    pub fn server_uuid(&self) -> Option<Uuid> {
        match *self {
            SourceIdentity::Mysql { server_uuid, .. } => Some(server_uuid),
            SourceIdentity::Mariadb { .. } => None,
        }
    }

    /// Whether both name the same server: MySQL servers by `server_uuid`
    /// (a server keeps its binlog when its `server_id` is changed), MariaDB
    /// servers by `server_id`, the only name they have.
    pub fn same_server(&self, other: &SourceIdentity) -> bool {
        match (self, other) {
            (
                SourceIdentity::Mysql { server_uuid: a, .. },
                SourceIdentity::Mysql { server_uuid: b, .. },
            ) => a == b,
            (
                SourceIdentity::Mariadb { server_id: a },
                SourceIdentity::Mariadb { server_id: b },
            ) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for SourceIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceIdentity::Mysql {
                server_uuid,
                server_id,
            } => write!(f, "MySQL server {server_uuid} (server_id {server_id})"),
            SourceIdentity::Mariadb { server_id } => {
                write!(f, "MariaDB server with server_id {server_id}")
            }
        }
    }
}

/// What the source had executed at a position, by GTID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GtidState {
    /// No GTID state: a MySQL server with `gtid_mode=OFF`, or a position
    /// whose state was not known. Such a position can only be resumed on
    /// the same server, by file offset.
    None,
    /// MySQL: the executed GTID set, every gap kept.
    Mysql(GtidSet),
    /// MariaDB: the last GTID of each domain.
    Mariadb(MariadbGtidPosition),
}

impl GtidState {
    /// The flavor of the GTIDs, if there are any.
    pub fn flavor(&self) -> Option<Flavor> {
        match self {
            GtidState::None => None,
            GtidState::Mysql(_) => Some(Flavor::Mysql),
            GtidState::Mariadb(_) => Some(Flavor::Mariadb),
        }
    }

    /// The state's text: the GTID set or position, `None` without one.
    fn text(&self) -> Option<String> {
        match self {
            GtidState::None => None,
            GtidState::Mysql(set) => Some(set.to_string()),
            GtidState::Mariadb(pos) => Some(pos.to_string()),
        }
    }
}

impl fmt::Display for GtidState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GtidState::None => f.write_str("no GTID state"),
            GtidState::Mysql(set) => write!(f, "MySQL GTID set {:?}", set.to_string()),
            GtidState::Mariadb(pos) => write!(f, "MariaDB GTID position {:?}", pos.to_string()),
        }
    }
}

/// Why a stored position is refused, or a position cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SavedPositionError {
    /// The stored text is empty or blank.
    #[error("the stored position is empty; it was never written, or was cleared")]
    Empty,
    /// The stored text ends in the middle of the value.
    #[error("the stored position is truncated (it ends after {length} characters: {reason}); it was cut after dts wrote it: restore the checkpoint row, or start the task again")]
    Truncated {
        /// The length of the text, in characters.
        length: usize,
        /// What the JSON parser says.
        reason: String,
    },
    /// The stored text is not a JSON object.
    #[error("the stored position is not a JSON object ({reason}); it is not a position dts wrote")]
    Malformed {
        /// What the JSON parser says.
        reason: String,
    },
    /// The `format` field is missing or names something else.
    #[error("the stored value's format is {found}, not \"dts.position\"; it is not a position dts wrote")]
    NotAPosition {
        /// The `format` field as found (JSON), or "missing".
        found: String,
    },
    /// The `version` field is missing or names a version this code does not
    /// read.
    #[error("the stored position has version {found}; this dts reads version 1 only (a newer dts wrote it? run that version, or start the task again)")]
    UnsupportedVersion {
        /// The `version` field as found (JSON), or "missing".
        found: String,
    },
    /// A field is missing, unknown, repeated or of the wrong type.
    #[error("the stored position has a bad field: {reason}")]
    Field {
        /// What the JSON parser says (it names the field).
        reason: String,
    },
    /// The checksum does not match the content.
    #[error("the stored position's crc32 is {stored} but its content's is {computed}: the value was changed after dts wrote it (a truncated or edited row); restore the checkpoint row, or start the task again")]
    Checksum {
        /// The `crc32` field.
        stored: String,
        /// The CRC-32 of the content.
        computed: String,
    },
    /// A field's value is invalid.
    #[error("the stored position's {field} is invalid: {reason}")]
    InvalidValue {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Fields contradict each other (e.g. a MariaDB source with a MySQL
    /// GTID set).
    #[error("the stored position is inconsistent: {reason}")]
    Inconsistent {
        /// What contradicts what.
        reason: String,
    },
    /// The text parses but is not the exact text dts writes for the value.
    #[error("the stored position is not in the exact form dts writes (expected {expected}); it was edited after dts wrote it")]
    NotCanonical {
        /// The text dts would write for the value read.
        expected: String,
    },
    /// The position belongs to another server.
    #[error("the position was saved on the {saved}, but the source is now the {current}: binlog offsets mean nothing on another server; resume by GTID (failover), or start the task again")]
    OtherSource {
        /// The server the position was saved on.
        saved: SourceIdentity,
        /// The server found now.
        current: SourceIdentity,
    },
    /// A position is behind the one it should follow.
    #[error("the position {later} is behind the earlier position {earlier}: {reason}")]
    MovedBackwards {
        /// The earlier position (file and GTID state).
        earlier: String,
        /// The later position (file and GTID state).
        later: String,
        /// What moved backwards.
        reason: String,
    },
}

/// A checkpoint's position: the binlog file and offset, the server they
/// belong to, and the GTID state there. See the module documentation for
/// its stored form.
///
/// A value is always consistent: the GTID state is of the source's flavor
/// (or none), and the offset is past the binlog's 4-byte magic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SavedPosition {
    file: FilePosition,
    source: SourceIdentity,
    gtid: GtidState,
}

impl SavedPosition {
    /// Makes a position.
    ///
    /// # Errors
    ///
    /// [`SavedPositionError::InvalidValue`] when the file name is empty,
    /// longer than 512 bytes or has a control character, or the offset is
    /// under 4 (the binlog magic); [`SavedPositionError::Inconsistent`] when
    /// the GTID state is of the other flavor than the source.
    pub fn new(
        file: FilePosition,
        source: SourceIdentity,
        gtid: GtidState,
    ) -> Result<Self, SavedPositionError> {
        let invalid = |field, reason: String| SavedPositionError::InvalidValue { field, reason };
        if file.file.is_empty() {
            return Err(invalid("file", "the binlog file name is empty".into()));
        }
        if file.file.len() > MAX_FILE_NAME {
            let reason = format!(
                "the binlog file name is {} bytes long, over {MAX_FILE_NAME}",
                file.file.len()
            );
            return Err(invalid("file", reason));
        }
        if file.file.chars().any(char::is_control) {
            let reason = format!(
                "the binlog file name {:?} has a control character",
                file.file
            );
            return Err(invalid("file", reason));
        }
        if file.offset < 4 {
            let reason = format!(
                "offset {} is inside the binlog's 4-byte magic; positions start at 4",
                file.offset
            );
            return Err(invalid("offset", reason));
        }
        if let Some(flavor) = gtid.flavor() {
            if flavor != source.flavor() {
                return Err(SavedPositionError::Inconsistent {
                    reason: format!(
                        "the source is a {} but the GTID state is a {gtid}",
                        source.flavor()
                    ),
                });
            }
        }
        Ok(Self { file, source, gtid })
    }

    /// The binlog file and offset.
    pub fn file(&self) -> &FilePosition {
        &self.file
    }

    /// The server the position was read from.
    pub fn source(&self) -> &SourceIdentity {
        &self.source
    }

    /// The GTID state at the position.
    pub fn gtid(&self) -> &GtidState {
        &self.gtid
    }

    /// Parses the stored form, strictly (see the module documentation).
    /// An entry point for fuzzing.
    ///
    /// # Errors
    ///
    /// A [`SavedPositionError`] naming what is wrong: `Empty`, `Truncated`,
    /// `Malformed`, `NotAPosition`, `UnsupportedVersion`, `Field` (missing,
    /// unknown, repeated, wrong type), `Checksum`, `InvalidValue`,
    /// `Inconsistent` or `NotCanonical`.
    pub fn parse(text: &str) -> Result<Self, SavedPositionError> {
        if text.trim().is_empty() {
            return Err(SavedPositionError::Empty);
        }
        // The format and the version first, read leniently (any JSON
        // object), so that a value of another format or a later version is
        // named as such instead of as an unknown field.
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| json_error(text, &e))?;
        let Some(header) = value.as_object() else {
            return Err(SavedPositionError::Malformed {
                reason: "the value is not a JSON object".into(),
            });
        };
        match header.get("format") {
            Some(serde_json::Value::String(f)) if f == FORMAT => {}
            other => {
                return Err(SavedPositionError::NotAPosition {
                    found: shown(other),
                })
            }
        }
        let version = header.get("version");
        if version.and_then(serde_json::Value::as_u64) != Some(SAVED_POSITION_VERSION) {
            return Err(SavedPositionError::UnsupportedVersion {
                found: shown(version),
            });
        }
        let wire: Wire = serde_json::from_str(text).map_err(|e| SavedPositionError::Field {
            reason: e.to_string(),
        })?;
        let (body, stored) = wire.into_body();
        let computed = body.checksum();
        if stored != computed {
            return Err(SavedPositionError::Checksum { stored, computed });
        }
        let position = body.to_position()?;
        let expected = position.to_string();
        if expected != text {
            return Err(SavedPositionError::NotCanonical { expected });
        }
        Ok(position)
    }

    /// Checks that the position was saved on `current`.
    ///
    /// # Errors
    ///
    /// [`SavedPositionError::OtherSource`] naming both servers.
    pub fn check_source(&self, current: &SourceIdentity) -> Result<(), SavedPositionError> {
        if self.source.same_server(current) {
            Ok(())
        } else {
            Err(SavedPositionError::OtherSource {
                saved: self.source,
                current: *current,
            })
        }
    }

    /// Checks that this position is not behind `earlier`, e.g. a checkpoint
    /// read back against the position a task started from (catalogue C12).
    ///
    /// On the same server, the file position must not be behind (file
    /// names compared numerically, design rule 4) and the GTID state must
    /// hold the earlier one. Across servers (after a failover) only the
    /// GTID states compare; without GTID states positions on two servers
    /// cannot be compared at all.
    ///
    /// # Errors
    ///
    /// [`SavedPositionError::MovedBackwards`] saying what moved back, or
    /// [`SavedPositionError::OtherSource`] for two servers without GTIDs.
    pub fn check_follows(&self, earlier: &SavedPosition) -> Result<(), SavedPositionError> {
        let back = |reason: String| SavedPositionError::MovedBackwards {
            earlier: earlier.summary(),
            later: self.summary(),
            reason,
        };
        let same_server = self.source.same_server(&earlier.source);
        if same_server {
            match compare_binlog_file_names(&earlier.file.file, &self.file.file) {
                None => {
                    return Err(back(format!(
                        "the files {:?} and {:?} are of different binlog series",
                        earlier.file.file, self.file.file
                    )))
                }
                Some(Ordering::Greater) => {
                    return Err(back("the binlog file is an earlier one".into()))
                }
                Some(Ordering::Equal) if self.file.offset < earlier.file.offset => {
                    return Err(back("the offset is smaller in the same file".into()))
                }
                Some(_) => {}
            }
        }
        match (&earlier.gtid, &self.gtid) {
            (GtidState::Mysql(before), GtidState::Mysql(after)) => {
                let lost = before.difference(after);
                if !lost.is_empty() {
                    return Err(back(format!(
                        "it no longer holds the GTIDs {lost} that the earlier one holds"
                    )));
                }
            }
            (GtidState::Mariadb(before), GtidState::Mariadb(after)) => {
                let lost: Vec<String> = before
                    .iter()
                    .filter(|g| !after.contains(g))
                    .map(ToString::to_string)
                    .collect();
                if !lost.is_empty() {
                    return Err(back(format!(
                        "its GTID position is behind in the domains of {}",
                        lost.join(",")
                    )));
                }
            }
            (GtidState::None, GtidState::None) if !same_server => {
                return Err(SavedPositionError::OtherSource {
                    saved: earlier.source,
                    current: self.source,
                });
            }
            (GtidState::None, GtidState::None) => {}
            (GtidState::None, _) if same_server => {}
            (before, after) => {
                return Err(back(format!(
                    "its {after} cannot follow the earlier {before}"
                )))
            }
        }
        Ok(())
    }

    /// The file position and GTID state, for messages.
    fn summary(&self) -> String {
        format!("{} on the {} ({})", self.file, self.source, self.gtid)
    }

    /// The fields in their stored form.
    fn body(&self) -> Body {
        Body {
            format: FORMAT.to_owned(),
            version: SAVED_POSITION_VERSION,
            flavor: self.source.flavor().as_str().to_owned(),
            server_id: self.source.server_id(),
            server_uuid: self.source.server_uuid().map(|u| u.to_string()),
            file: self.file.file.clone(),
            offset: self.file.offset,
            gtid: self.gtid.text(),
        }
    }
}

impl fmt::Display for SavedPosition {
    /// The stored form, one line of JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = self.body();
        let crc32 = body.checksum();
        let wire = WireOut { body, crc32 };
        let text = serde_json::to_string(&wire).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl std::str::FromStr for SavedPosition {
    type Err = SavedPositionError;
    fn from_str(text: &str) -> Result<Self, SavedPositionError> {
        SavedPosition::parse(text)
    }
}

/// Every field but the checksum, in the order they are written.
#[derive(Serialize)]
struct Body {
    format: String,
    version: u64,
    flavor: String,
    server_id: u32,
    server_uuid: Option<String>,
    file: String,
    offset: u64,
    gtid: Option<String>,
}

/// The stored form as read: the fields and the checksum, nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: String,
    version: u64,
    flavor: String,
    server_id: u32,
    #[serde(deserialize_with = "nullable")]
    server_uuid: Option<String>,
    file: String,
    offset: u64,
    #[serde(deserialize_with = "nullable")]
    gtid: Option<String>,
    crc32: String,
}

/// The stored form as written.
#[derive(Serialize)]
struct WireOut {
    #[serde(flatten)]
    body: Body,
    crc32: String,
}

/// A field that must be present and may be `null` (serde would otherwise
/// take a missing `Option` field for `null`).
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

impl Wire {
    /// The fields but the checksum.
    fn into_body(self) -> (Body, String) {
        let Wire {
            format,
            version,
            flavor,
            server_id,
            server_uuid,
            file,
            offset,
            gtid,
            crc32,
        } = self;
        let body = Body {
            format,
            version,
            flavor,
            server_id,
            server_uuid,
            file,
            offset,
            gtid,
        };
        (body, crc32)
    }
}

impl Body {
    /// The CRC-32 of the fields' JSON, as 8 lowercase hexadecimal digits.
    fn checksum(&self) -> String {
        // Serializing plain strings and numbers cannot fail.
        let json = serde_json::to_string(self).unwrap_or_default();
        format!("{:08x}", crc32fast::hash(json.as_bytes()))
    }

    /// The position the fields describe.
    fn to_position(&self) -> Result<SavedPosition, SavedPositionError> {
        let invalid = |field, e: PositionParseError| SavedPositionError::InvalidValue {
            field,
            reason: e.to_string(),
        };
        let flavor = match self.flavor.as_str() {
            "mysql" => Flavor::Mysql,
            "mariadb" => Flavor::Mariadb,
            other => {
                return Err(SavedPositionError::InvalidValue {
                    field: "flavor",
                    reason: format!("{other:?} is neither \"mysql\" nor \"mariadb\""),
                })
            }
        };
        let source = match (flavor, &self.server_uuid) {
            (Flavor::Mysql, Some(text)) => SourceIdentity::Mysql {
                server_uuid: Uuid::parse(text).map_err(|e| invalid("server_uuid", e))?,
                server_id: self.server_id,
            },
            (Flavor::Mysql, None) => {
                return Err(SavedPositionError::Inconsistent {
                    reason: "a MySQL source without a server_uuid (every MySQL server has one)"
                        .into(),
                })
            }
            (Flavor::Mariadb, None) => SourceIdentity::Mariadb {
                server_id: self.server_id,
            },
            (Flavor::Mariadb, Some(_)) => {
                return Err(SavedPositionError::Inconsistent {
                    reason: "a MariaDB source with a server_uuid (MariaDB has none)".into(),
                })
            }
        };
        let gtid = match (flavor, &self.gtid) {
            (_, None) => GtidState::None,
            (Flavor::Mysql, Some(text)) => {
                GtidState::Mysql(GtidSet::parse(text).map_err(|e| invalid("gtid", e))?)
            }
            (Flavor::Mariadb, Some(text)) => GtidState::Mariadb(
                MariadbGtidPosition::parse(text).map_err(|e| invalid("gtid", e))?,
            ),
        };
        let file = FilePosition::new(self.file.clone(), self.offset);
        SavedPosition::new(file, source, gtid)
    }
}

/// A JSON error of the lenient first read: the end of the input in the
/// middle of the value is a truncation.
fn json_error(text: &str, e: &serde_json::Error) -> SavedPositionError {
    if e.is_eof() {
        SavedPositionError::Truncated {
            length: text.chars().count(),
            reason: e.to_string(),
        }
    } else {
        SavedPositionError::Malformed {
            reason: e.to_string(),
        }
    }
}

/// A JSON value for a message, or "missing".
fn shown(value: Option<&serde_json::Value>) -> String {
    value.map_or_else(|| "missing".to_owned(), ToString::to_string)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use proptest::prelude::*;

    fn mysql_source() -> SourceIdentity {
        SourceIdentity::Mysql {
            server_uuid: uuid(U1),
            server_id: 7,
        }
    }

    fn mysql_position(file: &str, gtids: &str) -> SavedPosition {
        let gtid = GtidState::Mysql(set(gtids));
        SavedPosition::new(fpos(file), mysql_source(), gtid).unwrap()
    }

    fn mariadb_position(file: &str, server_id: u32, pos: &str) -> SavedPosition {
        let gtid = GtidState::Mariadb(pos.parse().unwrap());
        let source = SourceIdentity::Mariadb { server_id };
        SavedPosition::new(fpos(file), source, gtid).unwrap()
    }

    /// The stored form of raw fields (JSON object members without the
    /// checksum), signed with their CRC-32 as dts signs them: for values
    /// that a hand edit with a recomputed checksum would give.
    fn signed(members: &str) -> String {
        let body = format!("{{{members}}}");
        format!(
            "{{{members},\"crc32\":\"{:08x}\"}}",
            crc32fast::hash(body.as_bytes())
        )
    }

    /// The name of the error's variant.
    fn refusal(text: &str) -> (String, String) {
        let e = SavedPosition::parse(text).unwrap_err();
        let name = format!("{e:?}")
            .split([' ', '{', '('])
            .next()
            .unwrap()
            .to_owned();
        (name, e.to_string())
    }

    const HEAD: &str = r#""format":"dts.position","version":1"#;

    #[test]
    fn c12_a_tampered_stored_position_is_refused_naming_what_is_wrong() {
        let good = mysql_position("binlog.000003:1234", "U1:1-5:7:tag_a:1-3,U2:1");
        let text = good.to_string();
        assert_eq!(SavedPosition::parse(&text).unwrap(), good);
        // Every truncation is refused; cut anywhere it is named as such.
        for cut in 0..text.len() {
            let (name, _) = refusal(&text[..cut]);
            let expected = if cut == 0 { "Empty" } else { "Truncated" };
            assert_eq!(name, expected, "cut at {cut}: {}", &text[..cut]);
        }
        // An edited offset: the checksum no longer matches.
        let moved = text.replace("\"offset\":1234", "\"offset\":1233");
        let (name, msg) = refusal(&moved);
        assert_eq!(name, "Checksum");
        assert!(msg.contains("changed after dts wrote it"), "{msg}");
        // Edits whose checksum was recomputed, each refused by name.
        let uuid_field = format!("\"server_uuid\":\"{U1}\"");
        let mysql = |rest: &str| {
            signed(&format!(
                "{HEAD},\"flavor\":\"mysql\",\"server_id\":7,{uuid_field},{rest}"
            ))
        };
        for (input, kind, says) in [
            ("".to_owned(), "Empty", "empty"),
            (" \n".to_owned(), "Empty", "empty"),
            ("binlog.000003:1234".to_owned(), "Malformed", "not a JSON object"),
            ("[1,2]".to_owned(), "Malformed", "not a JSON object"),
            ("{\"format\":".to_owned(), "Truncated", "truncated"),
            ("{} x".to_owned(), "Malformed", "trailing characters"),
            ("{}".to_owned(), "NotAPosition", "format is missing"),
            (
                signed(r#""format":"dts.checkpoint","version":1"#),
                "NotAPosition",
                "\"dts.checkpoint\"",
            ),
            (
                signed(r#""format":"dts.position","version":2"#),
                "UnsupportedVersion",
                "version 2",
            ),
            (
                signed(r#""format":"dts.position""#),
                "UnsupportedVersion",
                "version missing",
            ),
            (
                mysql(r#""file":"binlog.000003","offset":1234,"gtid":null,"extra":1"#),
                "Field",
                "unknown field `extra`",
            ),
            (
                mysql(r#""file":"binlog.000003","offset":1234"#),
                "Field",
                "missing field `gtid`",
            ),
            (
                mysql(r#""file":"binlog.000003","offset":1234,"offset":1235,"gtid":null"#),
                "Field",
                "duplicate field `offset`",
            ),
            (
                mysql(r#""file":"binlog.000003","offset":-1,"gtid":null"#),
                "Field",
                "invalid value",
            ),
            (
                mysql(r#""file":"binlog.000003","offset":1234,"gtid":null,"crc32":"00000000""#),
                "Field",
                "duplicate field `crc32`",
            ),
            (
                mysql(r#""file":"binlog.000003","offset":3,"gtid":null"#),
                "InvalidValue",
                "offset 3 is inside the binlog's 4-byte magic",
            ),
            (
                mysql(r#""file":"","offset":4,"gtid":null"#),
                "InvalidValue",
                "file name is empty",
            ),
            (
                mysql(r#""file":"a\nb","offset":4,"gtid":null"#),
                "InvalidValue",
                "control character",
            ),
            (
                mysql(r#""file":"binlog.000003","offset":4,"gtid":"0-1-5""#),
                "InvalidValue",
                "gtid is invalid: invalid UUID",
            ),
            (
                signed(&format!(
                    "{HEAD},\"flavor\":\"postgres\",\"server_id\":7,\"server_uuid\":null,\"file\":\"b.1\",\"offset\":4,\"gtid\":null"
                )),
                "InvalidValue",
                "\"postgres\" is neither",
            ),
            (
                signed(&format!(
                    "{HEAD},\"flavor\":\"mysql\",\"server_id\":7,\"server_uuid\":null,\"file\":\"b.1\",\"offset\":4,\"gtid\":null"
                )),
                "Inconsistent",
                "MySQL source without a server_uuid",
            ),
            (
                signed(&format!(
                    "{HEAD},\"flavor\":\"mariadb\",\"server_id\":7,{uuid_field},\"file\":\"b.1\",\"offset\":4,\"gtid\":null"
                )),
                "Inconsistent",
                "MariaDB source with a server_uuid",
            ),
            (
                signed(&format!(
                    "{HEAD},\"flavor\":\"mysql\",\"server_id\":7,\"server_uuid\":\"{}\",\"file\":\"b.1\",\"offset\":4,\"gtid\":null",
                    U1.to_uppercase()
                )),
                "NotCanonical",
                "not in the exact form",
            ),
            (
                mysql(&x(r#""file":"binlog.000003","offset":4,"gtid":"U1:3:1-2""#)),
                "NotCanonical",
                "U1:1-3",
            ),
            (text.replace("\",\"", "\", \""), "NotCanonical", "not in the exact form"),
        ] {
            let (name, msg) = refusal(&input);
            assert_eq!(name, kind, "{input}: {msg}");
            assert!(msg.contains(&x(says)), "{input}: {msg}");
        }
    }

    #[test]
    fn positions_are_checked_against_the_source_and_the_earlier_position() {
        let p = mysql_position("binlog.000003:1234", "U1:1-5:7");
        let other = SourceIdentity::Mysql {
            server_uuid: uuid(U2),
            server_id: 7,
        };
        let same_uuid_new_id = SourceIdentity::Mysql {
            server_uuid: uuid(U1),
            server_id: 8,
        };
        assert!(p.check_source(&same_uuid_new_id).is_ok());
        let msg = p.check_source(&other).unwrap_err().to_string();
        assert!(
            msg.contains(&format!("MySQL server {U1} (server_id 7)")),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("MySQL server {U2} (server_id 7)")),
            "{msg}"
        );
        let m = mariadb_position("m.000001:4", 1, "0-1-5");
        assert!(m
            .check_source(&SourceIdentity::Mariadb { server_id: 1 })
            .is_ok());
        assert!(m
            .check_source(&SourceIdentity::Mariadb { server_id: 2 })
            .is_err());
        assert!(m.check_source(&mysql_source()).is_err());

        let later = |file: &str, gtids: &str| mysql_position(file, gtids).check_follows(&p);
        assert!(later("binlog.000003:1234", "U1:1-5:7").is_ok());
        assert!(later("binlog.000004:4", "U1:1-9").is_ok());
        for (file, gtids, says) in [
            ("binlog.000003:1000", "U1:1-5:7", "offset is smaller"),
            ("binlog.000002:9999", "U1:1-5:7", "earlier one"),
            ("relay.000004:4", "U1:1-5:7", "different binlog series"),
            (
                "binlog.000004:4",
                "U1:1-5",
                "no longer holds the GTIDs U1:7",
            ),
        ] {
            let msg = later(file, gtids).unwrap_err().to_string();
            assert!(msg.contains(&x(says)), "{file} {gtids}: {msg}");
        }
        // After a failover only the GTID states compare.
        let moved = SavedPosition::new(
            fpos("other.000001:4"),
            other,
            GtidState::Mysql(set("U1:1-5:7,U2:1")),
        )
        .unwrap();
        assert!(moved.check_follows(&p).is_ok());
        let behind = SavedPosition::new(
            fpos("other.000001:4"),
            other,
            GtidState::Mysql(set("U1:1-5")),
        )
        .unwrap();
        assert!(behind.check_follows(&p).is_err());
        let no_gtids =
            |source| SavedPosition::new(fpos("b.000001:4"), source, GtidState::None).unwrap();
        let msg = no_gtids(other)
            .check_follows(&no_gtids(mysql_source()))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("offsets mean nothing on another server"),
            "{msg}"
        );
        assert!(no_gtids(mysql_source()).check_follows(&p).is_err());
        // MariaDB positions per domain, sequence numbers out of order
        // across domains (catalogue S5).
        let m1 = mariadb_position("m.000001:400", 1, "0-1-100,2-1-3");
        assert!(mariadb_position("m.000001:500", 1, "0-1-101,2-1-3")
            .check_follows(&m1)
            .is_ok());
        let msg = mariadb_position("m.000001:500", 1, "0-1-101,2-1-2")
            .check_follows(&m1)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("behind in the domains of 2-1-3"), "{msg}");
        let e = SavedPosition::new(
            fpos("m.000001:4"),
            mysql_source(),
            GtidState::Mariadb(MariadbGtidPosition::new()),
        );
        assert!(matches!(e, Err(SavedPositionError::Inconsistent { .. })));
    }

    fn any_position() -> impl Strategy<Value = SavedPosition> {
        let mariadb = prop::collection::vec(any::<(u32, u32, u64)>(), 0..4).prop_map(|gtids| {
            let mut pos = MariadbGtidPosition::new();
            for (domain_id, server_id, sequence) in gtids {
                pos.update(crate::position::MariadbGtid {
                    domain_id,
                    server_id,
                    sequence,
                });
            }
            pos
        });
        let state = prop_oneof![
            Just(None),
            any_set().prop_map(|s| Some(GtidState::Mysql(s))),
            mariadb.prop_map(|p| Some(GtidState::Mariadb(p))),
        ];
        (
            "[a-zA-Z0-9 ._\"\\\\é-]{1,20}",
            4..=u64::MAX,
            any::<[u8; 16]>(),
            any::<u32>(),
            state,
            any::<bool>(),
        )
            .prop_map(|(file, offset, uuid, server_id, state, mysql)| {
                let mysql = match &state {
                    Some(GtidState::Mysql(_)) => true,
                    Some(GtidState::Mariadb(_)) => false,
                    _ => mysql,
                };
                let source = if mysql {
                    SourceIdentity::Mysql {
                        server_uuid: Uuid::from_bytes(uuid),
                        server_id,
                    }
                } else {
                    SourceIdentity::Mariadb { server_id }
                };
                let gtid = state.unwrap_or(GtidState::None);
                SavedPosition::new(FilePosition::new(file, offset), source, gtid).unwrap()
            })
    }

    proptest! {
        #[test]
        fn stored_positions_round_trip_and_any_changed_character_is_refused(
            p in any_position(),
            at in any::<prop::sample::Index>(),
            with in any::<char>(),
        ) {
            let text = p.to_string();
            prop_assert_eq!(SavedPosition::parse(&text).unwrap(), p);
            let chars: Vec<char> = text.chars().collect();
            let i = at.index(chars.len());
            if chars[i] != with {
                let mut edited = chars.clone();
                edited[i] = with;
                let edited: String = edited.into_iter().collect();
                prop_assert!(SavedPosition::parse(&edited).is_err(), "{}", edited);
            }
        }

        #[test]
        fn the_stored_form_parser_never_panics(text in any::<String>()) {
            let _ = SavedPosition::parse(&text);
        }
    }
}
