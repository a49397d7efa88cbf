//! The SQL literals of `binlog_reader::render` store exactly the values they
//! were made from: the D1-D13 edge rows are read back through the binlog
//! (`render::literal`, as the CDC apply writes them) and through the binary
//! protocol (`render::protocol_literal`, as verification's repair writes
//! them), written as literals into copies of the table, and the copies must
//! hold byte-identical rows. The only warnings the server gives are the
//! ENUM empty values the renderer announced.

use binlog_reader::event::RowChange;
use binlog_reader::render::{self, Literal, SqlColumn};
use binlog_reader::{BinlogStreamReader, EventBody, StreamConfig, StreamStart};
use dts_test_support::{binlog_position, compare_queries, exec, opts, Server, TestDatabases};
use mysql_async::prelude::*;
use mysql_async::Conn;

mod common;
use common::{describe, ROWS, TABLE};

/// The session the literals are written for.
const SESSION: &str = "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'";

/// What the literals need of each column, from information_schema.
struct Col {
    name: String,
    data_type: String,
    unsigned: bool,
    binary_length: usize,
    charset: Option<String>,
}

/// A row of information_schema.COLUMNS: name, data type, column type,
/// octet length, character set.
type ColumnRow = (String, String, String, Option<u64>, Option<String>);

async fn columns(conn: &mut Conn, db: &str) -> Vec<Col> {
    let rows: Vec<ColumnRow> = conn
        .exec(
            "SELECT column_name, data_type, column_type, character_octet_length,
                    character_set_name
             FROM information_schema.columns
             WHERE table_schema = ? AND table_name = 't' ORDER BY ordinal_position",
            (db,),
        )
        .await
        .expect("reading information_schema");
    rows.into_iter()
        .map(|(name, data_type, column_type, octets, charset)| Col {
            binary_length: if data_type == "binary" {
                octets.unwrap_or(0) as usize
            } else {
                0
            },
            unsigned: column_type.contains("unsigned"),
            name,
            data_type,
            charset,
        })
        .collect()
}

/// Runs `INSERT INTO table VALUES (literals)` and checks that the server
/// warned about exactly the ENUM empty values the renderer announced.
/// What the literals need to know of a column, its character set aside.
fn sql_col(c: &Col) -> SqlColumn<'_> {
    SqlColumn::new(&c.name)
        .data_type(&c.data_type)
        .unsigned(c.unsigned)
        .binary_length(c.binary_length)
}

async fn insert(conn: &mut Conn, table: &str, literals: &[String], enum_empty: usize) {
    let sql = format!("INSERT INTO {table} VALUES ({})", literals.join(", "));
    exec(conn, &sql).await;
    let warnings: Vec<(String, u16, String)> =
        conn.query("SHOW WARNINGS").await.expect("SHOW WARNINGS");
    assert!(
        warnings.iter().all(|(_, code, _)| *code == 1265) && warnings.len() == enum_empty,
        "{table}: {enum_empty} ENUM empty values expected, the server warned {warnings:?}\n  statement: {}",
        sql.chars().take(2000).collect::<String>()
    );
}

#[tokio::test]
async fn d1_d13_literals_store_exactly_the_values_they_render() {
    let dbs = TestDatabases::new("live_render").await;
    let mut src = dbs.source().await;
    exec(&mut src, SESSION).await;
    exec(&mut src, TABLE).await;
    exec(
        &mut src,
        "CREATE TABLE from_binlog LIKE t; CREATE TABLE from_protocol LIKE t",
    )
    .await;
    let (file, pos) = binlog_position(&mut src).await;
    // Not the 16 MB row: its literal would be over the server's
    // max_allowed_packet. Its values are the ones of the rows before, longer.
    let rows = &ROWS[..4];
    for r in rows {
        exec(&mut src, r).await;
    }
    let cols = columns(&mut src, &dbs.name).await;

    // Through the binlog, written as the apply writes them: no introducer.
    let mut cfg = StreamConfig::new(
        opts(Server::Source, None),
        3_100_000 + std::process::id() % 100_000,
        StreamStart::File(Some(file), pos),
    );
    cfg.non_blocking = true;
    let mut reader = BinlogStreamReader::connect(cfg)
        .await
        .expect("binlog stream");
    // Whatever binlog_row_metadata is, the column description is known.
    reader.set_table_columns(&dbs.name, "t", describe(&mut src, &dbs.name).await);
    let mut decoded = 0;
    while let Some(ev) = reader.next().await.expect("decoding the stream") {
        let EventBody::Rows(r) = &ev.body else {
            continue;
        };
        if r.table.schema != dbs.name || r.table.table != "t" {
            continue;
        }
        for change in &r.rows {
            let RowChange::Insert { after } = change else {
                panic!("only inserts were written: {change:?}");
            };
            let mut literals = Vec::new();
            let mut enum_empty = 0;
            for (v, c) in after.iter().zip(&cols) {
                let v = v.as_ref().expect("a FULL row image");
                let mut s = String::new();
                match render::literal(&mut s, v, &sql_col(c)) {
                    Ok(Literal::Exact) => {}
                    Ok(Literal::EnumEmpty) => enum_empty += 1,
                    Err(e) => panic!("column {}: {e}", c.name),
                }
                literals.push(s);
            }
            insert(&mut src, "from_binlog", &literals, enum_empty).await;
            decoded += 1;
        }
    }
    assert_eq!(decoded, rows.len(), "inserted rows decoded");

    // Through the binary protocol, written as verification's repair writes
    // them: with the column's character set, or `binary`.
    let read: Vec<mysql_async::Row> = src
        .exec("SELECT * FROM t ORDER BY id", ())
        .await
        .expect("select");
    assert_eq!(read.len(), rows.len());
    for row in read {
        let mut literals = Vec::new();
        let mut enum_empty = 0;
        for (v, c) in row.unwrap().iter().zip(&cols) {
            let mut s = String::new();
            let col = sql_col(c).charset(Some(c.charset.as_deref().unwrap_or("binary")));
            if render::protocol_literal(&mut s, v, &col) == Literal::EnumEmpty {
                enum_empty += 1;
            }
            literals.push(s);
        }
        insert(&mut src, "from_protocol", &literals, enum_empty).await;
    }

    for copy in ["from_binlog", "from_protocol"] {
        let mut a = dbs.source().await;
        let mut b = dbs.source().await;
        compare_queries(
            &mut a,
            "SELECT * FROM t",
            &mut b,
            &format!("SELECT * FROM {copy}"),
        )
        .await
        .assert_equal(copy);
    }
    // The renderer reported the ENUM empty value of row 3 both ways (the
    // warnings were checked per statement above); this makes sure the rows
    // hold one at all.
    let empties: u64 = src
        .query_first("SELECT COUNT(*) FROM t WHERE e = ''")
        .await
        .expect("count")
        .expect("a row");
    assert_eq!(empties, 1);
    dbs.cleanup().await;
}
