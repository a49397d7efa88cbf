//! Live decoding against the source server: for every column type and edge
//! value of test-catalogue D1-D13, rows are inserted, updated (primary key
//! changed) and deleted, and the values decoded from the binlog must equal,
//! exactly, what the server returns for the same rows through the binary
//! protocol. Run with `binlog_row_metadata` FULL and NO_LOG (the column
//! description then comes from information_schema, as a migration would
//! supply it), and with `log_bin_compress` ON and OFF.

use binlog_reader::event::{RowChange, RowImage};
use binlog_reader::{
    BinlogStreamReader, ColumnDescription, ColumnInfo, EventBody, StreamConfig, StreamStart, Value,
};
use dts_test_support::{binlog_position, exec, opts, Server, TestDatabases};
use mysql_async::prelude::*;
use mysql_async::Value as MyValue;

const TABLE: &str = "CREATE TABLE t (
  id INT PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
  mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
  bi BIGINT, biu BIGINT UNSIGNED,
  f FLOAT, f74 FLOAT(7,4), d DOUBLE,
  dec1 DECIMAL(65,30), dec2 DECIMAL(65,0), dec3 DECIMAL(10,2) UNSIGNED, dec4 DECIMAL(5,5),
  dt DATE, dtt0 DATETIME, dtt3 DATETIME(3), dtt6 DATETIME(6),
  ts0 TIMESTAMP NULL DEFAULT NULL, ts2 TIMESTAMP(2) NULL DEFAULT NULL, ts6 TIMESTAMP(6) NULL DEFAULT NULL,
  tm0 TIME, tm2 TIME(2), tm6 TIME(6),
  y YEAR,
  b1 BIT(1), b10 BIT(10), b64 BIT(64),
  e ENUM('a','b','c'), s SET('x','y','z'),
  vc VARCHAR(20) CHARACTER SET utf8mb4, vcl VARCHAR(300) CHARACTER SET latin1,
  ch CHAR(10) CHARACTER SET utf8mb4, gb VARCHAR(10) CHARACTER SET gbk,
  bin BINARY(16), vb VARBINARY(300),
  tx TEXT, bl BLOB, mbl MEDIUMBLOB, lbl LONGBLOB,
  j JSON,
  g GEOMETRY NULL, pt POINT NULL, pg POLYGON NULL
) ENGINE=InnoDB";

/// Edge values, one row each (the rest of each row NULL or a default).
const ROWS: &[&str] = &[
    // Minimums and negative edges.
    "INSERT INTO t SET id=1, ti=-128, tiu=0, si=-32768, siu=0, mi=-8388608, miu=0, i=-2147483648, iu=0,
       bi=-9223372036854775808, biu=0, f=-3.4028234e38, f74=-999.9999, d=-1.7976931348623157e308,
       dec1='-99999999999999999999999999999999999.999999999999999999999999999999',
       dec2='-99999999999999999999999999999999999999999999999999999999999999999',
       dec3=0, dec4='-0.00001',
       dt='1000-01-01', dtt0='1000-01-01 00:00:00', dtt3='1970-01-01 00:00:00.001', dtt6='9999-12-31 23:59:59.999999',
       ts0='1970-01-01 00:00:01', ts2='2038-01-19 03:14:07.99', ts6='2000-02-29 12:00:00.000001',
       tm0='-838:59:59', tm2='-00:00:00.01', tm6='-507:48:27.000001',
       y=1901, b1=b'0', b10=b'1000000001', b64=b'1111111111111111111111111111111111111111111111111111111111111111',
       e='a', s='', vc='😀 emoji 日本', vcl=CONCAT('caf', X'E9', ' ', X'FF'), ch='a', gb=X'C4E3BAC3',
       bin=X'00275C00000000000000000000000000', vb=X'00FF27225C',
       tx='', bl=X'', mbl=X'00', lbl=REPEAT('x', 70000),
       j='{\"b\": 1, \"a\": [1e400, 12345678901234567890, 0.1], \"c\": \"\\\\u0000\"}',
       g=ST_GeomFromText('POINT(1 2)', 4326), pt=ST_GeomFromText('POINT(-0.5 1e300)'),
       pg=ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))', 3857)",
    // Maximums.
    "INSERT INTO t SET id=2, ti=127, tiu=255, si=32767, siu=65535, mi=8388607, miu=16777215,
       i=2147483647, iu=4294967295, bi=9223372036854775807, biu=18446744073709551615,
       f=1.17549435e-38, f74=999.9999, d=4.9406564584124654e-324,
       dec1='99999999999999999999999999999999999.999999999999999999999999999999',
       dec2='99999999999999999999999999999999999999999999999999999999999999999',
       dec3='99999999.99', dec4='0.99999',
       dt='9999-12-31', dtt0='9999-12-31 23:59:59', dtt3='2024-06-30 12:34:56.789', dtt6='2000-01-01 00:00:00.000001',
       ts0='2038-01-19 03:14:07', ts2='1999-12-31 23:59:59.5', ts6='2021-03-28 01:00:00.999999',
       tm0='838:59:59', tm2='255:00:00.99', tm6='00:00:00.000001',
       y=2155, b1=b'1', b10=b'0000000001', b64=b'1', e='c', s='x,y,z',
       vc='trailing  ', vcl='a', ch='A', gb='abc', bin=X'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF', vb=X'',
       tx='quote '' backslash \\\\ % _ ; --', bl=X'0102', mbl=REPEAT(X'00', 300), lbl=X'5C',
       j='[]', g=ST_GeomFromText('GEOMETRYCOLLECTION EMPTY'), pt=ST_GeomFromText('POINT(0 0)'), pg=NULL",
    // Zeros and -0.0 and small fractions.
    "INSERT INTO t SET id=3, ti=0, tiu=1, si=0, siu=1, mi=-1, miu=1, i=-1, iu=1, bi=-1, biu=1,
       f=-0.0, f74=0, d=-0.0, dec1='-0.000000000000000000000000000001', dec2=0, dec3='0.01', dec4=0,
       dt='0000-00-00', dtt0='0000-00-00 00:00:00', dtt3='2020-00-15 00:00:00', dtt6='0000-00-00 00:00:00.000000',
       ts0='0000-00-00 00:00:00', ts2=NULL, ts6='1970-01-01 00:00:01.000000',
       tm0='00:00:00', tm2='-01:00:00.50', tm6='-00:00:00.000001',
       y=0, b1=NULL, b10=0, b64=0, e='', s='y', vc='', vcl=' ', ch='', gb='', bin=X'00', vb=X'00',
       tx=NULL, bl=NULL, mbl=NULL, lbl=NULL, j='{\"a\": {\"b\": {\"c\": [null, true, false]}}}'",
    // NULL everywhere else.
    "INSERT INTO t (id) VALUES (4)",
    // D10/D11: a 16 MB LONGBLOB and a 2 MB JSON document (one event over the
    // 16 MB protocol packet limit, split and joined by the driver).
    "INSERT INTO t SET id=5, lbl=REPEAT(X'5A', 16777216), mbl=REPEAT(X'00FF', 100000),
       j=CONCAT('{\"big\": \"', REPEAT('y', 2097152), '\", \"n\": 1e400}')",
];

/// The column description a migration would supply from the schema.
async fn describe(conn: &mut mysql_async::Conn, db: &str) -> Vec<ColumnDescription> {
    let rows: Vec<(String, String, Option<u16>)> = conn
        .exec(
            "SELECT c.column_name, c.column_type,
                    IF(c.character_set_name IS NULL AND c.data_type IN
                         ('binary','varbinary','tinyblob','blob','mediumblob','longblob'),
                       63, co.id)
             FROM information_schema.columns c
             LEFT JOIN information_schema.collations co ON co.collation_name = c.collation_name
             WHERE c.table_schema = ? AND c.table_name = 't' ORDER BY c.ordinal_position",
            (db,),
        )
        .await
        .expect("reading information_schema");
    rows.into_iter()
        .map(|(name, ty, collation)| {
            let members = |prefix: &str| -> Option<Vec<Vec<u8>>> {
                ty.strip_prefix(prefix).map(|rest| {
                    rest.trim_end_matches(')')
                        .split(',')
                        .map(|m| m.trim_matches('\'').as_bytes().to_vec())
                        .collect()
                })
            };
            ColumnDescription {
                unsigned: ty.contains("unsigned"),
                enum_values: members("enum("),
                set_values: members("set("),
                collation,
                name,
            }
        })
        .collect()
}

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
