//! Test support for integration tests against the real test servers.
//!
//! Not a mock: every helper talks to the servers named by
//! `DTS_TEST_SOURCE_URL` and `DTS_TEST_TARGET_URL`, which default to the two
//! instances that `scripts/testenv up` starts (source on 127.0.0.1:3307 with a
//! ROW binlog, target on 127.0.0.1:3308). When a server cannot be reached the
//! helpers panic with a message that says how to start it: a test never skips
//! itself silently.
//!
//! - [`TestDatabases`] gives each test its own uniquely named database on both
//!   servers and drops them when the test ends, so tests run in parallel.
//! - [`binlog_position`] reads the source's current binlog file and offset.
//! - [`compare_tables`] and [`compare_queries`] compare two result sets
//!   byte-exactly: every column's exact value is hashed (strings and blobs as
//!   their bytes with no transcoding, FLOAT/DOUBLE by their bits, temporal
//!   values by their fields), and rows are compared as multisets.
//! - [`Instance`] starts a throwaway MariaDB server with options of the
//!   test's choosing, for settings the shared servers must keep.
//! - [`bank`] is the bank workload (transfers whose sum never changes),
//!   and [`edge_writer`] writes the D1-D16 values of [`EDGE_TABLE`] while a
//!   test runs.
//! - [`replication::ReplicationPair`] starts a primary and a GTID replica
//!   (two `Instance`s) for failover tests: wait for the replica, cut it
//!   off, promote it.
#![deny(missing_docs)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use mysql_async::prelude::*;
use mysql_async::{Conn, Opts, OptsBuilder, Value};

pub mod bank;
pub mod delay;
pub mod instance;
pub mod mysql_binlog;
pub mod package;
pub mod proxy;
pub mod replication;
pub use instance::Instance;

/// The environment variable naming the source server.
pub const SOURCE_URL_VAR: &str = "DTS_TEST_SOURCE_URL";
/// The environment variable naming the target server.
pub const TARGET_URL_VAR: &str = "DTS_TEST_TARGET_URL";

const DEFAULT_SOURCE_URL: &str = "mysql://root@127.0.0.1:3307";
const DEFAULT_TARGET_URL: &str = "mysql://root@127.0.0.1:3308";

/// Which of the two test servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    /// The source: binlog on, ROW format.
    Source,
    /// The target.
    Target,
}

impl Server {
    /// The server's URL, from the environment or the testenv default.
    pub fn url(self) -> String {
        let (var, default) = match self {
            Server::Source => (SOURCE_URL_VAR, DEFAULT_SOURCE_URL),
            Server::Target => (TARGET_URL_VAR, DEFAULT_TARGET_URL),
        };
        std::env::var(var).unwrap_or_else(|_| default.to_string())
    }

    fn var(self) -> &'static str {
        match self {
            Server::Source => SOURCE_URL_VAR,
            Server::Target => TARGET_URL_VAR,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Server::Source => "source",
            Server::Target => "target",
        }
    }
}

/// A URL with any password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    // mysql://user:password@host:port/db
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        if let Some(at) = rest.rfind('@') {
            let userinfo = &rest[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &rest[at..]
                );
            }
        }
    }
    url.to_string()
}

/// Connection options for one test server, optionally with a default database.
pub fn opts(server: Server, database: Option<&str>) -> Opts {
    let url = server.url();
    let base = Opts::from_url(&url).unwrap_or_else(|e| {
        panic!(
            "{} = {:?} is not a valid mysql:// URL: {e}",
            server.var(),
            redact_url(&url)
        )
    });
    // One statement: mysql_async runs a list of init statements in reverse
    // order, and a later SET NAMES would undo the results setting. No
    // transcoding of results: strings come back as stored.
    let mut b = OptsBuilder::from_opts(base).prefer_socket(false).init(vec![
        "SET NAMES utf8mb4, character_set_results = NULL, time_zone = '+00:00'",
    ]);
    if let Some(db) = database {
        b = b.db_name(Some(db));
    }
    b.into()
}

/// Connects to one test server, or panics with a message that says how to
/// start the test servers.
pub async fn connect(server: Server, database: Option<&str>) -> Conn {
    match Conn::new(opts(server, database)).await {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot connect to the test {} server at {} ({}): {e}\n\
             Start the test servers with `scripts/testenv up`, or point {} at a server of yours \
             (see README.md).",
            server.name(),
            redact_url(&server.url()),
            server.var(),
            server.var()
        ),
    }
}

/// Quotes an identifier with backticks, doubling any backtick inside it
/// (`server_dialect::quote`, under the name the tests know).
pub use server_dialect::quote as quote_ident;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A uniquely named database on both test servers, dropped when this value
/// is dropped (or by [`TestDatabases::cleanup`]).
///
/// The same name is used on both servers. Names start with `dtst_`, so a
/// crashed run's leftovers are easy to recognize.
#[derive(Debug)]
pub struct TestDatabases {
    /// The database's name on both servers.
    pub name: String,
    dropped: bool,
}

impl TestDatabases {
    /// Creates the databases for the test `test` on both servers.
    ///
    /// # Panics
    ///
    /// When a server cannot be reached (with a message saying how to start
    /// it) or refuses to create the database.
    pub async fn new(test: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut clean: String = test
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        clean.truncate(36);
        let name = format!("dtst_{clean}_{}_{n}", std::process::id());
        for server in [Server::Source, Server::Target] {
            let mut c = connect(server, None).await;
            let q = quote_ident(&name);
            c.query_drop(format!(
                "DROP DATABASE IF EXISTS {q}; CREATE DATABASE {q} CHARACTER SET utf8mb4"
            ))
            .await
            .unwrap_or_else(|e| panic!("cannot create {name} on the {}: {e}", server.name()));
            c.disconnect().await.ok();
        }
        TestDatabases {
            name,
            dropped: false,
        }
    }

    /// A connection to `server` with this test's database as the default.
    pub async fn conn(&self, server: Server) -> Conn {
        connect(server, Some(&self.name)).await
    }

    /// A connection to the source with this test's database as the default.
    pub async fn source(&self) -> Conn {
        self.conn(Server::Source).await
    }

    /// A connection to the target with this test's database as the default.
    pub async fn target(&self) -> Conn {
        self.conn(Server::Target).await
    }

    /// Runs SQL (one or more statements) on `server` in this test's database.
    ///
    /// # Panics
    ///
    /// When the statement fails, with the statement and the error.
    pub async fn exec(&self, server: Server, sql: &str) {
        let mut c = self.conn(server).await;
        exec(&mut c, sql).await;
        c.disconnect().await.ok();
    }

    /// Drops the databases now.
    pub async fn cleanup(mut self) {
        self.dropped = true;
        drop_databases(&self.name).await;
    }
}

async fn drop_databases(name: &str) {
    for server in [Server::Source, Server::Target] {
        if let Ok(mut c) = Conn::new(opts(server, None)).await {
            c.query_drop(format!("DROP DATABASE IF EXISTS {}", quote_ident(name)))
                .await
                .ok();
            c.disconnect().await.ok();
        }
    }
}

impl Drop for TestDatabases {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // Drop may run inside a runtime, where blocking on another one is
        // not allowed: do the cleanup on a thread of its own.
        let name = self.name.clone();
        let t = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(drop_databases(&name));
            }
        });
        t.join().ok();
    }
}

/// Runs SQL (one or more statements) on a connection.
///
/// # Panics
///
/// When it fails, with the statement and the error.
pub async fn exec(conn: &mut Conn, sql: &str) {
    if let Err(e) = conn.query_drop(sql).await {
        panic!("SQL failed: {e}\n  statement: {sql}");
    }
}

/// Runs SQL (one statement, or one transaction `BEGIN; ...; COMMIT`) as an
/// application does: after a deadlock (1213) or a lock wait timeout (1205)
/// it rolls back what is left of the transaction and runs it again (the
/// watermark copy's locking reads can make a writer the victim). Returns
/// the retries.
///
/// # Panics
///
/// On any other error, or after 50 retries.
pub async fn exec_retrying(conn: &mut Conn, sql: &str) -> u32 {
    let mut retries = 0;
    loop {
        match conn.query_drop(sql).await {
            Ok(()) => return retries,
            Err(mysql_async::Error::Server(e)) if matches!(e.code, 1213 | 1205) && retries < 50 => {
                // A lock wait timeout leaves the transaction open.
                conn.query_drop("ROLLBACK").await.ok();
                retries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(retries))).await;
            }
            Err(e) => panic!("SQL failed after {retries} retries: {e}\n  statement: {sql}"),
        }
    }
}

/// Forgets a copy task's checkpoint rows in `dts_meta` on the target (its
/// ranges, snapshots and deferred indexes), so that tests leave nothing
/// behind.
///
/// # Panics
///
/// When a statement fails.
pub async fn forget_copy_task(target: &mut Conn, task: &str) {
    for table in ["copy_range", "copy_snapshot", "copy_index"] {
        if let Err(e) = target
            .exec_drop(
                format!("DELETE FROM dts_meta.`{table}` WHERE task = ?"),
                (task,),
            )
            .await
        {
            panic!("forgetting copy task {task} in dts_meta.{table}: {e}");
        }
    }
}

/// Runs a query and returns its first column of its first row.
///
/// # Panics
///
/// When the query fails or returns no row.
pub async fn query_one<T: FromRow + Send + 'static>(conn: &mut Conn, sql: &str) -> T {
    match conn.query_first::<T, _>(sql).await {
        Ok(Some(v)) => v,
        Ok(None) => panic!("query returned no row: {sql}"),
        Err(e) => panic!("query failed: {e}\n  statement: {sql}"),
    }
}

/// The server's current binlog file name and offset
/// (`server_dialect::binlog_position`: the statement its version takes).
///
/// # Panics
///
/// When the server has no binlog or the statement fails.
pub async fn binlog_position(conn: &mut Conn) -> (String, u64) {
    match server_dialect::binlog_position(conn, None).await {
        Ok(at) => (at.file, at.position),
        Err(server_dialect::DialectError::BinlogOff) => panic!(
            "the server reports no binlog position: is log_bin on? (scripts/testenv starts the \
             source with it)"
        ),
        Err(e) => panic!("cannot read the binlog position: {e}"),
    }
}

/// The result of comparing two result sets as multisets of exact rows.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// Rows read from the source side.
    pub source_rows: u64,
    /// Rows read from the target side.
    pub target_rows: u64,
    /// Up to 20 rows found on the source side and not on the target (or more
    /// often on the source), rendered for a reader.
    pub only_in_source: Vec<String>,
    /// Up to 20 rows found on the target side and not on the source.
    pub only_in_target: Vec<String>,
    /// The number of rows that differ on either side.
    pub differing_rows: u64,
}

impl Comparison {
    /// True when both sides hold exactly the same rows.
    pub fn is_equal(&self) -> bool {
        self.differing_rows == 0 && self.source_rows == self.target_rows
    }

    /// Panics with a description of the differences unless the sides are
    /// equal.
    pub fn assert_equal(&self, what: &str) {
        if !self.is_equal() {
            panic!("{what}: source and target differ\n{self}");
        }
    }
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} source rows, {} target rows, {} differing",
            self.source_rows, self.target_rows, self.differing_rows
        )?;
        for r in &self.only_in_source {
            writeln!(f, "  only in source: {r}")?;
        }
        for r in &self.only_in_target {
            writeln!(f, "  only in target: {r}")?;
        }
        Ok(())
    }
}

/// Appends a value's exact, unambiguous encoding to `out`.
///
/// Each kind has its own tag and lengths are explicit, so two different
/// values never encode alike: `NULL` differs from an empty string, `-0.0`
/// from `0.0`, and `'a'` from `'A'`.
pub fn encode_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::NULL => out.push(0),
        Value::Bytes(b) => {
            out.push(1);
            out.extend_from_slice(&(b.len() as u64).to_le_bytes());
            out.extend_from_slice(b);
        }
        Value::Int(i) => {
            out.push(2);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::UInt(u) => {
            out.push(3);
            out.extend_from_slice(&u.to_le_bytes());
        }
        Value::Float(x) => {
            out.push(4);
            out.extend_from_slice(&x.to_bits().to_le_bytes());
        }
        Value::Double(x) => {
            out.push(5);
            out.extend_from_slice(&x.to_bits().to_le_bytes());
        }
        Value::Date(y, mo, d, h, mi, s, us) => {
            out.push(6);
            out.extend_from_slice(&y.to_le_bytes());
            out.extend_from_slice(&[*mo, *d, *h, *mi, *s]);
            out.extend_from_slice(&us.to_le_bytes());
        }
        Value::Time(neg, d, h, mi, s, us) => {
            out.push(7);
            out.push(u8::from(*neg));
            out.extend_from_slice(&d.to_le_bytes());
            out.extend_from_slice(&[*h, *mi, *s]);
            out.extend_from_slice(&us.to_le_bytes());
        }
    }
}

/// Renders a row for a failure message, each value as verification's
/// reports show it ([`binlog_reader::render::protocol_text`]): bytes as
/// text when they are UTF-8, otherwise as hex; floats with their bits.
pub fn render_row(row: &[Value]) -> String {
    let values: Vec<String> = row
        .iter()
        .map(binlog_reader::render::protocol_text)
        .collect();
    format!("({})", values.join(", "))
}

fn row_hash(row: &[Value], buf: &mut Vec<u8>) -> u128 {
    buf.clear();
    for v in row {
        encode_value(v, buf);
    }
    xxhash_rust::xxh3::xxh3_128(buf)
}

/// Hashes every row of `sql` into a multiset (hash to count).
async fn row_multiset(conn: &mut Conn, sql: &str) -> HashMap<u128, i64> {
    let mut counts: HashMap<u128, i64> = HashMap::new();
    let mut buf = Vec::new();
    // The binary protocol (a prepared statement) returns FLOAT and DOUBLE
    // as their IEEE bits and temporal values as fields: nothing is rounded.
    let mut result = conn
        .exec_iter(sql, ())
        .await
        .unwrap_or_else(|e| panic!("query failed: {e}\n  statement: {sql}"));
    result
        .for_each(|row| {
            let values = row.unwrap();
            *counts.entry(row_hash(&values, &mut buf)).or_default() += 1;
        })
        .await
        .unwrap_or_else(|e| panic!("reading rows failed: {e}\n  statement: {sql}"));
    counts
}

/// Renders up to `limit` rows of `sql` whose hashes are in `wanted`.
async fn rows_with_hashes(
    conn: &mut Conn,
    sql: &str,
    wanted: &HashMap<u128, i64>,
    limit: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut result = conn
        .exec_iter(sql, ())
        .await
        .unwrap_or_else(|e| panic!("query failed: {e}\n  statement: {sql}"));
    result
        .for_each(|row| {
            if out.len() < limit {
                let values = row.unwrap();
                if wanted.contains_key(&row_hash(&values, &mut buf)) {
                    out.push(render_row(&values));
                }
            }
        })
        .await
        .unwrap_or_else(|e| panic!("reading rows failed: {e}\n  statement: {sql}"));
    out
}

/// Compares the rows of two queries as multisets of exact values.
///
/// Both queries should select the same columns in the same order.
///
/// # Panics
///
/// When a query fails.
pub async fn compare_queries(
    source: &mut Conn,
    source_sql: &str,
    target: &mut Conn,
    target_sql: &str,
) -> Comparison {
    let s = row_multiset(source, source_sql).await;
    let t = row_multiset(target, target_sql).await;
    let mut cmp = Comparison {
        source_rows: s.values().sum::<i64>() as u64,
        target_rows: t.values().sum::<i64>() as u64,
        ..Comparison::default()
    };
    let mut extra_source = HashMap::new();
    let mut extra_target = HashMap::new();
    for (h, n) in &s {
        let m = t.get(h).copied().unwrap_or(0);
        if n > &m {
            extra_source.insert(*h, n - m);
        }
    }
    for (h, n) in &t {
        let m = s.get(h).copied().unwrap_or(0);
        if n > &m {
            extra_target.insert(*h, n - m);
        }
    }
    cmp.differing_rows =
        (extra_source.values().sum::<i64>() + extra_target.values().sum::<i64>()) as u64;
    if !extra_source.is_empty() {
        cmp.only_in_source = rows_with_hashes(source, source_sql, &extra_source, 20).await;
    }
    if !extra_target.is_empty() {
        cmp.only_in_target = rows_with_hashes(target, target_sql, &extra_target, 20).await;
    }
    cmp
}

/// Compares every column of `db`.`table` on the source with the same table
/// on the target (or with `target_db`.`target_table` when given).
///
/// # Panics
///
/// When a query fails.
pub async fn compare_tables(
    source: &mut Conn,
    db: &str,
    table: &str,
    target: &mut Conn,
    target_db: Option<&str>,
    target_table: Option<&str>,
) -> Comparison {
    let s = format!("SELECT * FROM {}.{}", quote_ident(db), quote_ident(table));
    let t = format!(
        "SELECT * FROM {}.{}",
        quote_ident(target_db.unwrap_or(db)),
        quote_ident(target_table.unwrap_or(table))
    );
    compare_queries(source, &s, target, &t).await
}

/// A table with a column for every edge case of test-catalogue D1-D16
/// (generated, invisible and spatial columns included).
pub const EDGE_TABLE: &str = "CREATE TABLE edge (
  id INT PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
  f FLOAT, f74 FLOAT(7,4), d DOUBLE,
  dec1 DECIMAL(65,30), dec2 DECIMAL(65,0), dec3 DECIMAL(10,2) UNSIGNED,
  dt DATE, dtt0 DATETIME, dtt3 DATETIME(3), dtt6 DATETIME(6),
  ts0 TIMESTAMP NULL DEFAULT NULL, ts2 TIMESTAMP(2) NULL DEFAULT NULL, ts6 TIMESTAMP(6) NULL DEFAULT NULL,
  tm0 TIME, tm2 TIME(2), tm6 TIME(6), y YEAR,
  b1 BIT(1), b10 BIT(10), b64 BIT(64),
  e ENUM('a','b','c'), s SET('x','y','z'),
  vc VARCHAR(20) CHARACTER SET utf8mb4, vcl VARCHAR(300) CHARACTER SET latin1,
  ch CHAR(10) CHARACTER SET utf8mb4, gb VARCHAR(10) CHARACTER SET gbk,
  bin BINARY(16), vb VARBINARY(300),
  tx TEXT, bl BLOB, lbl LONGBLOB, j JSON,
  g GEOMETRY NULL, pt POINT NULL,
  gen_v INT AS (id * 2) VIRTUAL, gen_s VARCHAR(30) AS (CONCAT(vc, '!')) PERSISTENT,
  inv INT INVISIBLE DEFAULT 7,
  UNIQUE KEY (gen_s)
) ENGINE=InnoDB";

/// Rows of [`EDGE_TABLE`] holding the edge values of D1-D16 (run under
/// `sql_mode = 'NO_ENGINE_SUBSTITUTION'` and `time_zone = '+00:00'`).
pub const EDGE_ROWS: &[&str] = &[
    "INSERT INTO edge SET id=1, ti=-128, tiu=0, mi=-8388608, miu=16777215, bi=-9223372036854775808,
       biu=18446744073709551615, f=-3.4028234e38, f74=-999.9999, d=-1.7976931348623157e308,
       dec1='-99999999999999999999999999999999999.999999999999999999999999999999',
       dec2='99999999999999999999999999999999999999999999999999999999999999999', dec3='0.01',
       dt='1000-01-01', dtt0='9999-12-31 23:59:59', dtt3='1970-01-01 00:00:00.001', dtt6='2000-01-01 00:00:00.000001',
       ts0='1970-01-01 00:00:01', ts2='2038-01-19 03:14:07.99', ts6='2021-03-28 01:00:00.999999',
       tm0='-838:59:59', tm2='-00:00:00.01', tm6='-507:48:27.000001', y=0,
       b1=b'1', b10=b'1000000001', b64=b'1111111111111111111111111111111111111111111111111111111111111111',
       e='', s='x,y,z', vc='😀 tab\there\nnewline', vcl=CONCAT('caf', X'E9', ' ', X'FF'), ch='A',
       gb=X'C4E3BAC3', bin=X'00275C00000000000000000000000000', vb=X'00FF27225C5C4E0A09',
       tx='quote '' backslash \\\\ % _ ; -- \\\\N', bl=X'00', lbl=REPEAT(X'5C4E', 100000),
       j='{\"b\": 1, \"a\": [1e400, 12345678901234567890, 0.1], \"c\": \"\\\\u0000\"}',
       g=ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))', 3857), pt=ST_GeomFromText('POINT(-0.5 1e300)', 4326),
       inv=0",
    "INSERT INTO edge SET id=2, ti=127, f=1.17549435e-38, f74=0, d=4.9406564584124654e-324,
       dec1='-0.000000000000000000000000000001', dt='0000-00-00', dtt0='0000-00-00 00:00:00',
       dtt3='2020-00-15 00:00:00', ts0='0000-00-00 00:00:00', tm0='838:59:59', tm2='255:00:00.99',
       y=2155, b1=b'0', b10=0, b64=1, e='c', s='', vc='', vcl=' ', ch='', gb='', bin=X'', vb=X'',
       tx='', bl=X'', j='[]', g=ST_GeomFromText('GEOMETRYCOLLECTION EMPTY')",
    "INSERT INTO edge SET id=3, f=-0.0, d=-0.0, y=1901, vc='trailing  '",
    "INSERT INTO edge (id) VALUES (4)",
];

/// How much a test's writer may write: it stops after `max` transactions
/// (or rounds) or once `within` has passed, whichever comes first, even when
/// the test never raises its stop flag (a copy that hangs or fails). Keep a
/// test's binlog small: the shared machine's disk is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteLimit {
    /// Transactions (or rounds) at most.
    pub max: u64,
    /// Time at most.
    pub within: std::time::Duration,
}

/// Writes the D1-D16 values of [`EDGE_TABLE`] to `edge` in the source
/// database `db` until `stop` is raised or `limit` is reached: each round
/// inserts a copy of every row of [`EDGE_ROWS`] under new keys (in one
/// transaction), changes one of them, moves another to a new key, and
/// deletes a row of the round before, then pauses for 10 ms. Returns the
/// rounds written; a round writes about 210 KB of binlog (the first row's
/// LONGBLOB). The table must not have `EDGE_TABLE`'s `UNIQUE KEY (gen_s)`
/// (the copies repeat its values).
pub fn edge_writer(
    db: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    limit: WriteLimit,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut c = connect(Server::Source, Some(&db)).await;
        exec(
            &mut c,
            "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'",
        )
        .await;
        let deadline = std::time::Instant::now() + limit.within;
        let mut round: u64 = 0;
        while !stop.load(Ordering::SeqCst)
            && round < limit.max
            && std::time::Instant::now() < deadline
        {
            round += 1;
            let base = 1000 + round * 10;
            let mut sql = String::from("BEGIN;");
            for (n, row) in EDGE_ROWS.iter().enumerate() {
                let id = base + n as u64;
                let old = n + 1;
                let row = row
                    .replace(&format!("SET id={old},"), &format!("SET id={id},"))
                    .replace(
                        &format!("(id) VALUES ({old})"),
                        &format!("(id) VALUES ({id})"),
                    );
                sql.push_str(&row);
                sql.push(';');
            }
            sql.push_str("COMMIT");
            exec_retrying(&mut c, &sql).await;
            for statement in [
                // Rows without the large blob: their images are small.
                format!(
                    "UPDATE edge SET ti = IFNULL(ti, 0) DIV 2, d = -d, \
                     vc = CONCAT(IFNULL(vc, ''), 'u'), ts6 = ts6 + INTERVAL 1 SECOND, e = 'b' \
                     WHERE id = {}",
                    base + 1
                ),
                format!("UPDATE edge SET id = {} WHERE id = {}", base + 9, base + 2),
                format!("DELETE FROM edge WHERE id = {}", base - 10 + 3),
            ] {
                exec_retrying(&mut c, &statement).await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        round
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_distinguishes_null_empty_and_float_signs() {
        let enc = |v: Value| {
            let mut b = Vec::new();
            encode_value(&v, &mut b);
            b
        };
        assert_ne!(enc(Value::NULL), enc(Value::Bytes(vec![])));
        assert_ne!(enc(Value::Double(0.0)), enc(Value::Double(-0.0)));
        assert_ne!(enc(Value::Float(1.0)), enc(Value::Double(1.0)));
        assert_ne!(
            enc(Value::Bytes(b"a".to_vec())),
            enc(Value::Bytes(b"A".to_vec()))
        );
        assert_ne!(
            enc(Value::Bytes(b"a".to_vec())),
            enc(Value::Bytes(b"a ".to_vec()))
        );
    }

    #[test]
    fn rows_render_as_verification_reports_values() {
        assert_eq!(
            render_row(&[
                Value::Int(1),
                Value::Bytes(b"a".to_vec()),
                Value::Bytes(vec![0xff]),
                Value::NULL,
                Value::Float(1.0)
            ]),
            r#"(1, "a", 0xff, NULL, 1e0[f32 0x3f800000])"#
        );
    }

    #[test]
    fn redaction_hides_passwords() {
        assert_eq!(redact_url("mysql://u:p@w'd@h:1/db"), "mysql://u:***@h:1/db");
        assert_eq!(redact_url("mysql://root@h:1"), "mysql://root@h:1");
    }

    #[test]
    fn identifiers_double_backticks() {
        assert_eq!(quote_ident("a`b"), "`a``b`");
    }
}
