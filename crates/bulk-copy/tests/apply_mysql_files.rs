//! MySQL 8.0 and 8.4 binlog files, written by test-support's
//! `mysql_binlog` writer with MySQL's layouts (mysql_common's serializers),
//! applied through the file source to the real target: every D1-D15 type
//! and edge value of `mysql_binlog::cases` (temporal edges and fractions,
//! zero dates, TIME ranges, DECIMAL extremes, FLOAT/DOUBLE bits, integer
//! edges, YEAR, BIT, ENUM/SET, charsets and bytes, JSON, BLOB/TEXT,
//! invisible columns, GEOMETRY with SRIDs, a key on a column prefix) created by the files' DDL, inserted, then changed by an
//! update that moves a row to another key with the next row's values (D16)
//! and a delete; the target holds exactly the values written.

use std::path::PathBuf;

use bulk_copy::{apply_changes_from, ApplyOptions, ApplySelection, ApplySource};
use dts_test_support::mysql_binlog::cases::{self, Case};
use dts_test_support::mysql_binlog::{
    BinlogFile, Collation, ColumnType, Gtid, Json, MySqlVersion, Value,
};
use dts_test_support::{opts, Server, TestDatabases};
use mysql_async::prelude::*;
use mysql_async::Value as My;

/// How deep a JSON document nests.
fn depth(j: &Json) -> usize {
    match j {
        Json::Array(v) => 1 + v.iter().map(depth).max().unwrap_or(0),
        Json::Object(v) => 1 + v.iter().map(|(_, x)| depth(x)).max().unwrap_or(0),
        _ => 0,
    }
}

/// MariaDB's JSON (a LONGTEXT checked by JSON_VALID) refuses documents
/// nested 32 deep or more, which MySQL stores: the target stops the apply
/// with its CONSTRAINT error (`a_json_document_too_deep_for_mariadb_...`).
const MARIADB_JSON_DEPTH: usize = 32;

fn all_cases() -> Vec<Case> {
    // Not `cases::identifiers`: its column named with an emoji is outside
    // the BMP, which no MariaDB (nor MySQL) identifier may be.
    let mut v = cases::all(100);
    v.push(cases::prefix_key(201));
    for c in &mut v {
        c.rows.retain(|r| {
            !r.iter()
                .any(|x| matches!(x, Value::Json(j) if depth(j) >= MARIADB_JSON_DEPTH))
        });
    }
    v
}

/// The rows a case's table holds after its transactions: the first row
/// moved to `id + 1000` with the second row's values, the second deleted.
fn changed(case: &Case) -> (Vec<Value>, Vec<Value>, Vec<Value>, Vec<Vec<Value>>) {
    let (first, second) = (case.rows[0].clone(), case.rows[1].clone());
    let Value::Int(id) = first[0] else {
        panic!("{}: the first column is the INT key", case.name)
    };
    let mut moved = second.clone();
    moved[0] = Value::Int(id + 1000);
    let mut expected: Vec<Vec<Value>> = case.rows[2..].to_vec();
    expected.push(moved.clone());
    (first, moved, second, expected)
}

fn write_file(version: MySqlVersion, cases: &[Case]) -> BinlogFile {
    let mut f = BinlogFile::new(version);
    for c in cases {
        f.ddl(Gtid::Anonymous, cases::SCHEMA, &c.table.create_table_sql());
        let mut tx = f.transaction(Gtid::Anonymous);
        tx.insert(&c.table, c.rows.clone());
        tx.commit();
        let (first, moved, second, _) = changed(c);
        let mut tx = f.transaction(Gtid::Anonymous);
        tx.update(&c.table, vec![(first, moved)]);
        tx.delete(&c.table, vec![second]);
        tx.commit();
    }
    f
}

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// The expression read for a column: one that keeps every bit.
fn read_expr(name: &str, ty: &ColumnType) -> String {
    let q = quote(name);
    match ty {
        ColumnType::Enum { .. } | ColumnType::Bit { .. } => format!("{q} + 0"),
        // A 64-member SET's bitmask comes back signed otherwise.
        ColumnType::Set { .. } => format!("CAST({q} + 0 AS UNSIGNED)"),
        ColumnType::Char { .. } | ColumnType::VarChar { .. } | ColumnType::Blob { .. } => {
            format!("HEX({q})")
        }
        ColumnType::Geometry { .. } => {
            format!("CONCAT(ST_SRID({q}), ':', HEX(ST_AsBinary({q})))")
        }
        _ => q,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn int_of(v: &My) -> Option<i128> {
    match v {
        My::Int(i) => Some(i128::from(*i)),
        My::UInt(u) => Some(i128::from(*u)),
        My::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

fn text_of(v: &My) -> Option<String> {
    match v {
        My::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

/// Whether the target's value `got` (read with `read_expr`) is `want`.
fn same(want: &Value, got: &My, ty: &ColumnType) -> bool {
    match (want, got) {
        (Value::Null, My::NULL) => true,
        (Value::Null, _) | (_, My::NULL) => false,
        (Value::Int(i), g) => int_of(g) == Some(i128::from(*i)),
        (Value::UInt(u), g) => int_of(g) == Some(i128::from(*u)),
        (Value::Year(y), g) => int_of(g) == Some(i128::from(*y)),
        (Value::Bit(b), g) | (Value::Set(b), g) => int_of(g) == Some(i128::from(*b)),
        (Value::Enum(e), g) => int_of(g) == Some(i128::from(*e)),
        // MariaDB stores a negative zero written in SQL as +0 (`-0e0` and
        // every other spelling): the one FLOAT/DOUBLE value an SQL apply to
        // MariaDB cannot keep (see docs/testing.md, D6).
        (Value::Float(f), My::Float(g)) => {
            f.to_bits() == g.to_bits() || (f.to_bits() == (-0.0f32).to_bits() && *g == 0.0)
        }
        (Value::Double(f), My::Double(g)) => {
            f.to_bits() == g.to_bits() || (f.to_bits() == (-0.0f64).to_bits() && *g == 0.0)
        }
        (Value::Decimal(d), g) => text_of(g).as_deref() == Some(d.as_str()),
        (Value::Date { year, month, day }, My::Date(y, m, d, 0, 0, 0, 0)) => {
            (*year, *month, *day) == (*y, *m, *d)
        }
        (
            Value::DateTime {
                year,
                month,
                day,
                hour,
                minute,
                second,
                micros,
            },
            My::Date(y, mo, d, h, mi, s, us),
        ) => {
            (*year, *month, *day, *hour, *minute, *second, *micros)
                == (*y, *mo, *d, *h, *mi, *s, *us)
        }
        (Value::Timestamp { seconds, micros }, My::Date(y, mo, d, h, mi, s, us)) => {
            if *seconds == 0 {
                return (*y, *mo, *d, *h, *mi, *s, *us) == (0, 0, 0, 0, 0, 0, *micros);
            }
            let secs = i64::from(*seconds);
            let (cy, cm, cd) = civil(secs.div_euclid(86_400));
            let t = secs.rem_euclid(86_400);
            (i64::from(*y), u32::from(*mo), u32::from(*d)) == (cy, cm, cd)
                && (i64::from(*h), i64::from(*mi), i64::from(*s)) == (t / 3600, t / 60 % 60, t % 60)
                && *us == *micros
        }
        (
            Value::Time {
                negative,
                hours,
                minutes,
                seconds,
                micros,
            },
            My::Time(n, days, h, mi, s, us),
        ) => {
            let zero = *hours == 0 && *minutes == 0 && *seconds == 0 && *micros == 0;
            (zero || *negative == *n)
                && *hours == days * 24 + u32::from(*h)
                && (*minutes, *seconds, *micros) == (*mi, *s, *us)
        }
        (Value::Bytes(b), g) => {
            // BINARY(n) is padded with 0x00 to n bytes.
            let mut b = b.clone();
            if let ColumnType::Char { chars, collation } = ty {
                if *collation == Collation::BINARY {
                    b.resize(usize::from(*chars), 0);
                }
            }
            text_of(g).as_deref() == Some(hex(&b).as_str())
        }
        (Value::Json(j), g) => text_of(g).as_deref() == Some(j.to_mysql_text().as_str()),
        (Value::Geometry { srid, wkb }, g) => {
            text_of(g).as_deref() == Some(format!("{srid}:{}", hex(wkb)).as_str())
        }
        _ => false,
    }
}

async fn check_case(tgt: &mut mysql_async::Conn, db: &str, case: &Case) -> Vec<String> {
    let t = &case.table;
    let cols: Vec<String> = t
        .columns
        .iter()
        .map(|c| read_expr(&c.name, &c.ty))
        .collect();
    let sql = format!(
        "SELECT {} FROM {}.{} ORDER BY 1",
        cols.join(", "),
        quote(db),
        quote(&t.name)
    );
    let rows: Vec<mysql_async::Row> = tgt
        .exec(sql.as_str(), ())
        .await
        .unwrap_or_else(|e| panic!("{}: {e}\n{sql}", case.name));
    let (.., mut expected) = changed(case);
    expected.sort_by_key(|r| match r[0] {
        Value::Int(i) => i,
        _ => i64::MAX,
    });
    let mut bad = Vec::new();
    if rows.len() != expected.len() {
        bad.push(format!(
            "{}: {} rows on the target, {} written",
            case.name,
            rows.len(),
            expected.len()
        ));
        return bad;
    }
    for (row, want) in rows.iter().zip(&expected) {
        let got = row.clone().unwrap();
        for ((c, w), g) in t.columns.iter().zip(want).zip(&got) {
            if !same(w, g, &c.ty) {
                bad.push(format!(
                    "{}.{} (id {:?}): wrote {w:?}, the target holds {g:?}",
                    case.name, c.name, want[0]
                ));
            }
        }
    }
    bad
}

async fn apply_version(version: MySqlVersion) {
    let dbs = TestDatabases::new(&format!("mysql_types_{}", version.version_id())).await;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "mysql-types-{}-{}",
        version.version_id(),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = all_cases();
    let f = write_file(version, &cases);
    let path = dir.join("binlog.000001");
    f.write_to(&path).unwrap();
    let sel = ApplySelection {
        databases: vec![(cases::SCHEMA.to_string(), dbs.name.clone())],
        ..ApplySelection::default()
    };
    let o = ApplyOptions {
        task: dbs.name.clone(),
        ..ApplyOptions::default()
    };
    let r = apply_changes_from(
        &ApplySource::Files(vec![path]),
        &opts(Server::Target, None),
        &sel,
        None,
        &o,
    )
    .await;
    std::fs::remove_dir_all(&dir).ok();
    let r = r.unwrap_or_else(|e| panic!("MySQL {}: {e}", version.server_version()));
    assert_eq!(r.ddl_applied, cases.len() as u64);
    assert_eq!(r.transactions, 3 * cases.len() as u64);
    let mut tgt = dbs.target().await;
    tgt.query_drop("SET time_zone = '+00:00'").await.unwrap();
    let mut bad = Vec::new();
    for c in &cases {
        bad.extend(check_case(&mut tgt, &dbs.name, c).await);
    }
    assert!(
        bad.is_empty(),
        "MySQL {}: {} values differ:\n{}",
        version.server_version(),
        bad.len(),
        bad.join("\n")
    );
    dbs.cleanup().await;
}

#[tokio::test]
async fn d1_d16_mysql_8_0_files_apply_to_the_target_with_the_values_written() {
    apply_version(MySqlVersion::V8_0_40).await;
}

#[tokio::test]
async fn d1_d16_mysql_8_4_files_apply_to_the_target_with_the_values_written() {
    apply_version(MySqlVersion::V8_4_3).await;
}

#[tokio::test]
async fn a_json_document_too_deep_for_mariadb_stops_the_apply_with_the_targets_error() {
    let dbs = TestDatabases::new("mysql_json_deep").await;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("mysql-json-deep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let case = cases::json(100);
    let deep: Vec<Vec<Value>> = case
        .rows
        .iter()
        .filter(|r| matches!(&r[1], Value::Json(j) if depth(j) >= MARIADB_JSON_DEPTH))
        .cloned()
        .collect();
    assert_eq!(deep.len(), 1, "the cases hold one deep document");
    let mut f = BinlogFile::new(MySqlVersion::V8_0_40);
    f.ddl(
        Gtid::Anonymous,
        cases::SCHEMA,
        &case.table.create_table_sql(),
    );
    let mut tx = f.transaction(Gtid::Anonymous);
    tx.insert(&case.table, deep);
    tx.commit();
    let path = dir.join("binlog.000001");
    f.write_to(&path).unwrap();
    let sel = ApplySelection {
        databases: vec![(cases::SCHEMA.to_string(), dbs.name.clone())],
        ..ApplySelection::default()
    };
    let o = ApplyOptions {
        task: dbs.name.clone(),
        ..ApplyOptions::default()
    };
    let r = apply_changes_from(
        &ApplySource::Files(vec![path]),
        &opts(Server::Target, None),
        &sel,
        None,
        &o,
    )
    .await;
    std::fs::remove_dir_all(&dir).ok();
    let e = r.unwrap_err().to_string();
    assert!(e.contains("`json`") && e.contains("CONSTRAINT"), "{e}");
    let mut tgt = dbs.target().await;
    let n: i64 = dts_test_support::query_one(&mut tgt, "SELECT COUNT(*) FROM `json`").await;
    assert_eq!(n, 0, "nothing of the refused transaction is on the target");
    dbs.cleanup().await;
}
