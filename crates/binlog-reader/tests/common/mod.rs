//! What the live tests share: the D1-D13 table, its edge rows and the
//! column description a migration would supply for it.

#![allow(dead_code)]

use binlog_reader::ColumnDescription;
use mysql_async::prelude::*;

pub(crate) const TABLE: &str = "CREATE TABLE t (
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
pub(crate) const ROWS: &[&str] = &[
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
pub(crate) async fn describe(conn: &mut mysql_async::Conn, db: &str) -> Vec<ColumnDescription> {
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
