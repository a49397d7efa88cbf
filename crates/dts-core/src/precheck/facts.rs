//! What the precheck reads from each server, read once and then judged by
//! pure functions (`checks`), so the judging is testable for flavours and
//! versions that no test server here runs (MySQL, PolarDB).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mysql_async::prelude::*;
use mysql_async::Conn;

use schema_diff::ServerVersion;
use server_dialect::{Dialect, POLARDB_VERSION_VARIABLE};

/// Privileges of the connected account, from `information_schema`.
#[derive(Clone, Debug, Default)]
pub struct Privileges {
    /// The account (`'user'@'host'`).
    pub grantee: String,
    /// Global privileges (upper case: `SELECT`, `REPLICATION SLAVE`, ...).
    pub global: BTreeSet<String>,
    /// Whether it holds GRANT OPTION globally.
    pub global_grant_option: bool,
    /// Schema-level privileges: (schema pattern, privilege). The pattern
    /// may hold LIKE wildcards (`dtst\_%`).
    pub schema: Vec<(String, String)>,
    /// Table-level privileges: (schema, table, privilege).
    pub table: Vec<(String, String, String)>,
}

/// Matches a schema name against a grant's pattern (`_` and `%` wildcards,
/// `\` escapes), as the server does for database-level grants.
pub fn like(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('%', rest)) => (0..=n.len()).any(|i| go(rest, n.get(i..).unwrap_or_default())),
            Some(('_', rest)) => n.split_first().is_some_and(|(_, nr)| go(rest, nr)),
            Some(('\\', rest)) if !rest.is_empty() => match (rest.split_first(), n.split_first()) {
                (Some((pc, pr)), Some((nc, nr))) => pc == nc && go(pr, nr),
                _ => false,
            },
            Some((pc, rest)) => n
                .split_first()
                .is_some_and(|(nc, nr)| pc == nc && go(rest, nr)),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

impl Privileges {
    /// Whether `privilege` holds on `db` (and on `table`, when given).
    pub fn has(&self, privilege: &str, db: &str, table: Option<&str>) -> bool {
        let all = |p: &str| p == privilege || p == "ALL PRIVILEGES";
        self.global.iter().any(|p| all(p))
            || self.schema.iter().any(|(pat, p)| all(p) && like(pat, db))
            || table.is_some_and(|t| {
                self.table
                    .iter()
                    .any(|(d, tt, p)| all(p) && d == db && tt == t)
            })
    }

    /// Whether `privilege` holds globally.
    pub fn has_global(&self, privilege: &str) -> bool {
        self.global
            .iter()
            .any(|p| p == privilege || p == "ALL PRIVILEGES")
    }
}

/// A table's size and keys, as far as the precheck needs them.
#[derive(Clone, Debug, Default)]
pub struct TableStats {
    /// Estimated rows.
    pub rows: u64,
    /// Data length in bytes.
    pub data_length: u64,
    /// The largest sum of LOB and long string lengths in one row.
    pub largest_row: u64,
}

/// One server as the precheck sees it.
#[derive(Clone, Debug)]
pub struct ServerFacts {
    /// `VERSION()`.
    pub version_text: String,
    /// Flavour and version (PolarDB recognised by its `polardb_version`
    /// variable).
    pub version: ServerVersion,
    /// Global variables, by lower-case name.
    pub variables: HashMap<String, String>,
    /// `Ssl_cipher` of this connection (empty: not encrypted).
    pub ssl_cipher: String,
    /// Privileges of the connected account.
    pub privileges: Privileges,
    /// Whether the server replicates from another (the replica status
    /// statement its version takes has a row), when that could be read.
    pub is_replica: Option<bool>,
    /// Storage engines with SUPPORT YES or DEFAULT, upper case.
    pub engines: BTreeSet<String>,
    /// Collations it has, lower case.
    pub collations: BTreeSet<String>,
    /// Whether table partitioning is available.
    pub partitioning: bool,
}

impl ServerFacts {
    /// The statements and names this server's version takes.
    pub fn dialect(&self) -> Dialect {
        Dialect::new(self.version.clone())
    }

    /// A variable's value ("" when the server has no such variable).
    pub fn var(&self, name: &str) -> &str {
        self.variables.get(name).map_or("", String::as_str)
    }

    /// Whether the server has the variable.
    pub fn has_var(&self, name: &str) -> bool {
        self.variables.contains_key(name)
    }

    /// A variable as a number.
    pub fn num(&self, name: &str) -> Option<u64> {
        self.variables.get(name).and_then(|v| v.trim().parse().ok())
    }

    /// Whether a boolean variable is on.
    pub fn on(&self, name: &str) -> bool {
        matches!(
            self.var(name).to_ascii_uppercase().as_str(),
            "ON" | "1" | "YES" | "TRUE"
        )
    }

    /// The server's identity for "is it the same server?": `server_uuid`
    /// where the server has one (MySQL), else its host name, port and data
    /// directory (MariaDB has no server_uuid).
    pub fn identity(&self) -> String {
        if !self.var("server_uuid").is_empty() {
            return format!("server_uuid {}", self.var("server_uuid"));
        }
        format!(
            "hostname {}, port {}, datadir {}",
            self.var("hostname"),
            self.var("port"),
            self.var("datadir")
        )
    }
}

type DbResult<T> = Result<T, mysql_async::Error>;

/// Reads the facts of a connected server. Reads that need a privilege the
/// account may lack (replica status) are left unknown instead of failing.
///
/// # Errors
///
/// When a basic read (`VERSION()`, the variables) fails.
pub async fn read_facts(conn: &mut Conn) -> DbResult<ServerFacts> {
    let version_text = server_dialect::version_text(conn)
        .await
        .map_err(|e| match e {
            server_dialect::DialectError::Query { error, .. } => error,
            other => mysql_async::Error::Other(Box::new(other)),
        })?;
    let vars: Vec<(String, Option<String>)> = conn.query("SHOW GLOBAL VARIABLES").await?;
    let variables: HashMap<String, String> = vars
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.unwrap_or_default()))
        .collect();
    // An unreadable version is judged as the oldest MySQL: the version
    // check then fails with the text it could not read.
    let version = ServerVersion::identify(
        &version_text,
        variables.get(POLARDB_VERSION_VARIABLE).map(String::as_str),
    )
    .unwrap_or(ServerVersion::new(schema_diff::Flavor::MySql, 0, 0, 0));
    let ssl: Option<(String, String)> = conn
        .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .await?;
    let user: String = conn
        .query_first("SELECT CURRENT_USER()")
        .await?
        .unwrap_or_default();
    let grantee = match user.rsplit_once('@') {
        Some((u, h)) => format!("'{u}'@'{h}'"),
        None => format!("'{user}'"),
    };
    let mut privileges = Privileges {
        grantee: grantee.clone(),
        ..Privileges::default()
    };
    let global: Vec<(String, String)> = conn
        .exec(
            "SELECT PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.USER_PRIVILEGES \
             WHERE GRANTEE = ?",
            (&grantee,),
        )
        .await?;
    for (p, g) in global {
        privileges.global_grant_option |= g == "YES";
        privileges.global.insert(p.to_ascii_uppercase());
    }
    privileges.schema = conn
        .exec::<(String, String), _, _>(
            "SELECT TABLE_SCHEMA, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES \
             WHERE GRANTEE = ?",
            (&grantee,),
        )
        .await?
        .into_iter()
        .map(|(s, p)| (s, p.to_ascii_uppercase()))
        .collect();
    privileges.table = conn
        .exec::<(String, String, String), _, _>(
            "SELECT TABLE_SCHEMA, TABLE_NAME, PRIVILEGE_TYPE FROM \
             information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ?",
            (&grantee,),
        )
        .await?
        .into_iter()
        .map(|(s, t, p)| (s, t, p.to_ascii_uppercase()))
        .collect();
    // The statement the version takes: MySQL 8.0.0 to 8.0.21 know only
    // SHOW SLAVE STATUS, 8.4 only SHOW REPLICA STATUS.
    let status_sql = Dialect::new(version.clone()).replica_status_statement();
    let is_replica = match conn.query::<mysql_async::Row, _>(status_sql).await {
        Ok(rows) => Some(!rows.is_empty()),
        Err(mysql_async::Error::Server(_)) => None,
        Err(e) => return Err(e),
    };
    let engines: Vec<(String, String)> = conn
        .query("SELECT ENGINE, SUPPORT FROM information_schema.ENGINES")
        .await?;
    let engines = engines
        .into_iter()
        .filter(|(_, s)| s == "YES" || s == "DEFAULT")
        .map(|(e, _)| e.to_ascii_uppercase())
        .collect();
    let collations: Vec<String> = conn
        .query("SELECT COLLATION_NAME FROM information_schema.COLLATIONS")
        .await?;
    // MariaDB has partitioning as a plugin; MySQL 8 builds it in (InnoDB's
    // native partitioning), MySQL 5.7 lists it as a plugin too.
    let plugin: Option<String> = conn
        .query_first(
            "SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'partition'",
        )
        .await?;
    let partitioning =
        plugin.as_deref() == Some("ACTIVE") || (!version.is_mariadb() && version.at_least(8, 0));
    Ok(ServerFacts {
        partitioning,
        version_text,
        version,
        variables,
        ssl_cipher: ssl.map(|(_, v)| v).unwrap_or_default(),
        privileges,
        is_replica,
        engines,
        collations: collations
            .into_iter()
            .map(|c| c.to_ascii_lowercase())
            .collect(),
    })
}

/// Sizes of the tables of `db`, and for those with LOB or long string
/// columns the largest such content in one row (one read of those columns).
///
/// # Errors
///
/// When a read fails.
pub async fn table_stats(
    conn: &mut Conn,
    db: &str,
    tables: &[(String, Vec<(String, String)>)],
) -> DbResult<BTreeMap<String, TableStats>> {
    let rows: Vec<(String, Option<u64>, Option<u64>)> = conn
        .exec(
            "SELECT TABLE_NAME, TABLE_ROWS, DATA_LENGTH FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'VIEW'",
            (db,),
        )
        .await?;
    let mut out: BTreeMap<String, TableStats> = rows
        .into_iter()
        .map(|(t, r, d)| {
            (
                t,
                TableStats {
                    rows: r.unwrap_or(0),
                    data_length: d.unwrap_or(0),
                    largest_row: 0,
                },
            )
        })
        .collect();
    for (table, columns) in tables {
        let long: Vec<String> = columns
            .iter()
            .filter(|(_, ty)| {
                let t = ty.to_ascii_lowercase();
                t.contains("blob")
                    || t.contains("text")
                    || t.starts_with("json")
                    || t.starts_with("geometry")
                    || t.starts_with("varchar")
                    || t.starts_with("varbinary")
            })
            .map(|(c, _)| format!("IFNULL(LENGTH({}), 0)", schema_diff::quote(c)))
            .collect();
        if long.is_empty() {
            continue;
        }
        let sql = format!(
            "SELECT MAX({}) FROM {}.{}",
            long.join(" + "),
            schema_diff::quote(db),
            schema_diff::quote(table)
        );
        let max: Option<Option<u64>> = conn.query_first(sql).await?;
        if let Some(s) = out.get_mut(table) {
            s.largest_row = max.flatten().unwrap_or(0);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_grant_patterns() {
        assert!(like("dtst\\_%", "dtst_x"));
        assert!(!like("dtst\\_%", "dtstax"));
        assert!(like("a_c", "abc"));
        assert!(!like("abc", "abcd"));
    }
}
