//! Live decoding against the source server: for every column type and edge
//! value of test-catalogue D1-D13, rows are inserted, updated (primary key
//! changed) and deleted, and the values decoded from the binlog must equal,
//! exactly, what the server returns for the same rows through the binary
//! protocol. Run with `binlog_row_metadata` FULL and NO_LOG (the column
//! description then comes from information_schema, as a migration would
//! supply it), and with `log_bin_compress` ON and OFF.

use binlog_reader::event::{RowChange, RowImage};
use binlog_reader::{BinlogStreamReader, ColumnInfo, EventBody, StreamConfig, StreamStart, Value};
use dts_test_support::{binlog_position, exec, opts, Server, TestDatabases};
use mysql_async::prelude::*;
use mysql_async::Value as MyValue;

mod common;
use common::{describe, ROWS, TABLE};

fn civil(secs: u32) -> (u16, u8, u8, u8, u8, u8) {
    let days = i64::from(secs) / 86_400;
    let rem = i64::from(secs) % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y as u16,
        m as u8,
        d as u8,
        (rem / 3600) as u8,
        (rem % 3600 / 60) as u8,
        (rem % 60) as u8,
    )
}

/// Our decoded value in the form the binary protocol returns.
fn as_protocol(v: &Value, col: &ColumnInfo) -> MyValue {
    match v {
        Value::Null => MyValue::NULL,
        Value::Int(i) => MyValue::Int(*i),
        Value::UInt(u) => MyValue::UInt(*u),
        Value::IntUnknownSign { .. } => panic!("signedness unknown for {:?}", col.name),
        Value::Float(f) => MyValue::Float(*f),
        Value::Double(d) => MyValue::Double(*d),
        Value::Decimal(s) => MyValue::Bytes(s.clone().into_bytes()),
        Value::Year(y) => MyValue::Int(i64::from(*y)),
        Value::Date { year, month, day } => MyValue::Date(*year, *month, *day, 0, 0, 0, 0),
        Value::DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            micros,
            ..
        } => MyValue::Date(*year, *month, *day, *hour, *minute, *second, *micros),
        Value::Timestamp {
            seconds, micros, ..
        } => {
            if *seconds == 0 && *micros == 0 {
                MyValue::Date(0, 0, 0, 0, 0, 0, 0)
            } else {
                let (y, mo, d, h, mi, s) = civil(*seconds);
                MyValue::Date(y, mo, d, h, mi, s, *micros)
            }
        }
        Value::Time {
            negative,
            hours,
            minutes,
            seconds,
            micros,
            ..
        } => MyValue::Time(
            *negative,
            hours / 24,
            (hours % 24) as u8,
            *minutes,
            *seconds,
            *micros,
        ),
        Value::Bit { value, width } => {
            let n = usize::from(*width).div_ceil(8);
            MyValue::Bytes(value.to_be_bytes()[8 - n..].to_vec())
        }
        Value::Enum(i) => MyValue::Bytes(if *i == 0 {
            Vec::new()
        } else {
            col.enum_values.as_ref().expect("enum member names")[usize::from(*i) - 1].clone()
        }),
        Value::Set(mask) => {
            let names = col.set_values.as_ref().expect("set member names");
            let parts: Vec<&[u8]> = names
                .iter()
                .enumerate()
                .filter(|(i, _)| mask >> i & 1 == 1)
                .map(|(_, n)| n.as_slice())
                .collect();
            MyValue::Bytes(parts.join(&b","[..]))
        }
        Value::Bytes(b) => MyValue::Bytes(b.clone()),
        Value::Json(t) => MyValue::Bytes(t.clone().into_bytes()),
        Value::Geometry { srid, wkb } => {
            let mut b = srid.to_le_bytes().to_vec();
            b.extend_from_slice(wkb);
            MyValue::Bytes(b)
        }
        Value::JsonDiffs(_) => panic!("no partial JSON on MariaDB"),
    }
}

fn norm(v: MyValue) -> MyValue {
    // Integers compare by value whatever the protocol's signedness flag.
    match v {
        MyValue::UInt(u) if i64::try_from(u).is_ok() => MyValue::Int(u as i64),
        other => other,
    }
}

fn check_image(
    what: &str,
    img: &RowImage,
    cols: &[ColumnInfo],
    names: &[String],
    expected: &[MyValue],
) {
    assert_eq!(img.len(), expected.len(), "{what}: column count");
    for (i, (got, want)) in img.iter().zip(expected).enumerate() {
        let got = got
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: column {} missing (FULL image expected)", names[i]));
        let ours = norm(as_protocol(got, &cols[i]));
        let theirs = norm(want.clone());
        assert_eq!(
            ours,
            theirs,
            "{what}: column `{}` ({}) decoded {:?}, the server returns {:?}",
            names[i],
            cols[i].real_type().name(),
            got,
            want
        );
    }
}

async fn run_case(metadata: &str, compress: bool) {
    let dbs = TestDatabases::new(&format!("live_values_{metadata}_{compress}")).await;
    let mut src = dbs.source().await;
    exec(
        &mut src,
        &format!(
            "SET GLOBAL binlog_row_metadata = '{metadata}'; SET GLOBAL log_bin_compress = {}",
            if compress { "ON" } else { "OFF" }
        ),
    )
    .await;
    // A fresh connection sees the new global settings.
    let mut src = dbs.source().await;
    exec(
        &mut src,
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'",
    )
    .await;
    exec(&mut src, TABLE).await;
    let (file, pos) = binlog_position(&mut src).await;
    for r in ROWS {
        exec(&mut src, r).await;
    }
    let select = "SELECT * FROM t ORDER BY id";
    let before: Vec<mysql_async::Row> = src.exec(select, ()).await.expect("select");
    exec(&mut src, "UPDATE t SET id = id + 100").await;
    let after: Vec<mysql_async::Row> = src.exec(select, ()).await.expect("select");
    exec(&mut src, "DELETE FROM t").await;
    let descr = describe(&mut src, &dbs.name).await;
    let names: Vec<String> = descr.iter().map(|d| d.name.clone()).collect();
    let unrow = |rows: Vec<mysql_async::Row>| -> Vec<Vec<MyValue>> {
        rows.into_iter().map(|r| r.unwrap()).collect()
    };
    let before = unrow(before);
    let after = unrow(after);

    let mut cfg = StreamConfig::new(
        opts(Server::Source, None),
        3_000_000 + std::process::id() % 100_000,
        StreamStart::File(Some(file), pos),
    );
    cfg.non_blocking = true;
    let mut reader = BinlogStreamReader::connect(cfg)
        .await
        .expect("binlog stream");
    if metadata == "NO_LOG" {
        reader.set_table_columns(&dbs.name, "t", descr.clone());
    }
    let (mut inserts, mut updates, mut deletes) = (Vec::new(), Vec::new(), Vec::new());
    let mut compressed_seen = false;
    while let Some(ev) = reader.next().await.expect("decoding the stream") {
        let EventBody::Rows(r) = &ev.body else {
            continue;
        };
        if r.table.schema != dbs.name {
            continue;
        }
        compressed_seen |= r.compressed;
        assert_eq!(
            r.table.has_optional_metadata,
            metadata == "FULL",
            "optional metadata presence under binlog_row_metadata={metadata}"
        );
        for change in &r.rows {
            match change {
                RowChange::Insert { after } => {
                    inserts.push((after.clone(), r.table.columns.clone()))
                }
                RowChange::Update { before, after } => {
                    updates.push((before.clone(), after.clone(), r.table.columns.clone()))
                }
                RowChange::Delete { before } => {
                    deletes.push((before.clone(), r.table.columns.clone()))
                }
            }
        }
    }
    assert_eq!(
        compressed_seen, compress,
        "compressed row events under log_bin_compress={compress}"
    );
    assert_eq!(inserts.len(), ROWS.len(), "inserted rows decoded");
    assert_eq!(updates.len(), ROWS.len(), "updated rows decoded");
    assert_eq!(deletes.len(), ROWS.len(), "deleted rows decoded");
    let case = format!("metadata={metadata} compress={compress}");
    for (k, (img, cols)) in inserts.iter().enumerate() {
        check_image(
            &format!("{case} insert #{k}"),
            img,
            cols,
            &names,
            &before[k],
        );
    }
    for (k, (b, a, cols)) in updates.iter().enumerate() {
        check_image(
            &format!("{case} update before #{k}"),
            b,
            cols,
            &names,
            &before[k],
        );
        check_image(
            &format!("{case} update after #{k}"),
            a,
            cols,
            &names,
            &after[k],
        );
    }
    for (k, (img, cols)) in deletes.iter().enumerate() {
        check_image(&format!("{case} delete #{k}"), img, cols, &names, &after[k]);
    }
    dbs.cleanup().await;
}

/// D1-D13 through the binlog, in all four configurations. One test, so the
/// global settings it changes are changed in sequence; they are restored at
/// the end.
#[tokio::test]
async fn d1_d13_values_decode_exactly_as_the_server_returns_them() {
    let mut admin = dts_test_support::connect(Server::Source, None).await;
    let (meta, comp): (String, String) = admin
        .query_first("SELECT @@binlog_row_metadata, @@log_bin_compress")
        .await
        .expect("reading settings")
        .expect("a row");
    for (metadata, compress) in [
        ("FULL", false),
        ("NO_LOG", false),
        ("FULL", true),
        ("NO_LOG", true),
    ] {
        run_case(metadata, compress).await;
    }
    exec(
        &mut admin,
        &format!("SET GLOBAL binlog_row_metadata = '{meta}'; SET GLOBAL log_bin_compress = {comp}"),
    )
    .await;
}
