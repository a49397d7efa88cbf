//! Server flavours and versions, as `SELECT VERSION()` reports them.

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

/// A server's flavour and version.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServerVersion {
    /// MySQL or MariaDB.
    pub flavor: Flavor,
    /// Major version (8 for 8.0.36, 10 for 10.11.6).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
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
        })
    }

    /// A version of the given flavour.
    pub fn new(flavor: Flavor, major: u32, minor: u32, patch: u32) -> Self {
        ServerVersion {
            flavor,
            major,
            minor,
            patch,
        }
    }

    /// Whether this is MariaDB.
    pub fn is_mariadb(&self) -> bool {
        self.flavor == Flavor::MariaDb
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
        let name = match self.flavor {
            Flavor::MySql => "MySQL",
            Flavor::MariaDb => "MariaDB",
        };
        write!(f, "{name} {}.{}.{}", self.major, self.minor, self.patch)
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
}
