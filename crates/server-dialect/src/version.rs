//! Server flavours and versions, as `SELECT VERSION()` reports them, and
//! PolarDB for MySQL, which reports a MySQL version and is recognised by its
//! `polardb_version` variable.

use serde::{Deserialize, Serialize};

use crate::error::DialectError;

/// MySQL or MariaDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Flavor {
    /// Oracle MySQL (and compatible forks that report a MySQL version).
    MySql,
    /// MariaDB.
    MariaDb,
}

/// The global variable that names PolarDB for MySQL's engine version
/// (`8.0.1.1.4`, `8.0.2.2.19`). Alibaba's documentation has clusters report
/// it from February 2020 on; `VERSION()` on PolarDB says only the MySQL
/// version it is compatible with (`8.0.13`, `8.0.18`), and `version_comment`
/// says `Source distribution`, so this variable is what tells PolarDB apart.
pub const POLARDB_VERSION_VARIABLE: &str = "polardb_version";

/// A server's flavour and version.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServerVersion {
    /// MySQL or MariaDB (PolarDB for MySQL is MySQL, with
    /// [`ServerVersion::polardb`] set).
    pub flavor: Flavor,
    /// Major version (8 for 8.0.36, 10 for 10.11.6).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
    /// PolarDB for MySQL's engine version ([`POLARDB_VERSION_VARIABLE`]) when
    /// the server is PolarDB; `None` on every other server. The MySQL
    /// version above is the one PolarDB is compatible with, and decides the
    /// statements like any MySQL's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polardb: Option<String>,
}

impl ServerVersion {
    /// Parses `SELECT VERSION()` output such as `8.0.36`, `8.4.0-log` or
    /// `10.11.6-MariaDB-0+deb12u1-log` (and `5.5.5-10.11.6-MariaDB`, the
    /// prefix MariaDB puts in its handshake).
    ///
    /// # Errors
    ///
    /// [`DialectError::Version`] when the text does not start with a version.
    pub fn parse(text: &str) -> Result<Self, DialectError> {
        let flavor = if text.to_ascii_lowercase().contains("mariadb") {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        };
        let mut t = text;
        if flavor == Flavor::MariaDb {
            if let Some(rest) = t.strip_prefix("5.5.5-") {
                t = rest;
            }
        }
        let head: &str = t.split(['-', '+', ' ']).next().unwrap_or_default();
        let mut parts = head.split('.').map(|p| p.parse::<u32>());
        let bad = || DialectError::Version {
            text: text.to_string(),
        };
        let major = parts.next().ok_or_else(bad)?.map_err(|_| bad())?;
        let minor = parts.next().ok_or_else(bad)?.map_err(|_| bad())?;
        let patch = match parts.next() {
            Some(p) => p.map_err(|_| bad())?,
            None => 0,
        };
        Ok(ServerVersion {
            flavor,
            major,
            minor,
            patch,
            polardb: None,
        })
    }

    /// The version of a server from what it reports: `VERSION()`'s text and
    /// the value of [`POLARDB_VERSION_VARIABLE`] when the server has that
    /// variable (an empty value is no PolarDB, and MariaDB never is).
    ///
    /// # Errors
    ///
    /// [`DialectError::Version`] when the text does not start with a version.
    pub fn identify(text: &str, polardb_version: Option<&str>) -> Result<Self, DialectError> {
        let mut v = Self::parse(text)?;
        if v.flavor == Flavor::MySql {
            v.polardb = polardb_version
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string);
        }
        Ok(v)
    }

    /// A version of the given flavour.
    pub fn new(flavor: Flavor, major: u32, minor: u32, patch: u32) -> Self {
        ServerVersion {
            flavor,
            major,
            minor,
            patch,
            polardb: None,
        }
    }

    /// Whether this is MariaDB.
    pub fn is_mariadb(&self) -> bool {
        self.flavor == Flavor::MariaDb
    }

    /// Whether this is PolarDB for MySQL.
    pub fn is_polardb(&self) -> bool {
        self.polardb.is_some()
    }

    /// The number `/*!NNNNN */` guards compare against: 80036 for 8.0.36,
    /// 101106 for 10.11.6.
    pub fn guard_number(&self) -> u32 {
        self.major
            .saturating_mul(10000)
            .saturating_add(self.minor.saturating_mul(100))
            .saturating_add(self.patch)
    }

    /// Whether this server is at least `major.minor`.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// Whether this server is at least `major.minor.patch` (several
    /// statements changed within a minor version: MySQL 8.0.22, 8.0.23 and
    /// 8.0.26 renamed replication terms, MariaDB 10.5.1 added `REPLICA`).
    pub fn at_least_patch(&self, major: u32, minor: u32, patch: u32) -> bool {
        (self.major, self.minor, self.patch) >= (major, minor, patch)
    }
}

impl std::fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match (self.flavor, &self.polardb) {
            (Flavor::MySql, Some(_)) => "PolarDB for MySQL",
            (Flavor::MySql, None) => "MySQL",
            (Flavor::MariaDb, _) => "MariaDB",
        };
        write!(f, "{name} {}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(p) = &self.polardb {
            write!(f, " (engine {p})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_server_versions() {
        let m = ServerVersion::parse("10.11.6-MariaDB-0+deb12u1-log").unwrap();
        assert_eq!(m, ServerVersion::new(Flavor::MariaDb, 10, 11, 6));
        assert_eq!(m.guard_number(), 101106);
        let m = ServerVersion::parse("5.5.5-10.6.1-MariaDB").unwrap();
        assert_eq!(m.major, 10);
        let m = ServerVersion::parse("8.0.36").unwrap();
        assert_eq!(m, ServerVersion::new(Flavor::MySql, 8, 0, 36));
        assert!(ServerVersion::parse("banana").is_err());
        assert!(m.at_least_patch(8, 0, 36) && !m.at_least_patch(8, 0, 37));
        assert!(m.at_least_patch(5, 7, 44) && m.at_least(8, 0) && !m.at_least(8, 1));
    }

    #[test]
    fn polardb_is_mysql_with_its_engine_version() {
        // What a PolarDB for MySQL 8.0 cluster reports: VERSION() 8.0.13 and
        // polardb_version 8.0.1.1.4 (a user's SHOW VARIABLES LIKE
        // '%version%' in hanchuanchuan/goInception#240).
        let p = ServerVersion::identify("8.0.13", Some("8.0.1.1.4")).unwrap();
        assert_eq!(p.flavor, Flavor::MySql);
        assert_eq!((p.major, p.minor, p.patch), (8, 0, 13));
        assert!(p.is_polardb());
        assert_eq!(p.to_string(), "PolarDB for MySQL 8.0.13 (engine 8.0.1.1.4)");
        // No variable, an empty one, or MariaDB: not PolarDB.
        for (text, var) in [
            ("8.0.36", None),
            ("8.0.36", Some("")),
            ("10.11.6-MariaDB", Some("8.0.1.1.4")),
        ] {
            let v = ServerVersion::identify(text, var).unwrap();
            assert!(!v.is_polardb(), "{text} {var:?}");
        }
        assert_eq!(
            ServerVersion::parse("8.4.3").unwrap().to_string(),
            "MySQL 8.4.3"
        );
    }

    #[test]
    fn the_serialized_form_of_other_servers_is_unchanged() {
        // Stored schemas and reports keep their shape: `polardb` appears
        // only for PolarDB, and a stored form without it still reads.
        let v = ServerVersion::parse("8.0.36").unwrap();
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#"{"flavor":"MySql","major":8,"minor":0,"patch":36}"#);
        assert_eq!(serde_json::from_str::<ServerVersion>(&json).unwrap(), v);
        let p = ServerVersion::identify("8.0.18", Some("8.0.2.2.19")).unwrap();
        let back: ServerVersion =
            serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
