//! Golden cases: the edge values of the test catalogue's D1-D16, as SQL
//! literals and as text, for values decoded from the binlog and for values
//! read through the binary protocol.
//!
//! D12 (generated and invisible columns), D14 (identifiers), D15 (tables
//! without a usable key) and D16 (key updates) have no values of their own:
//! their rows hold the values below, and what they test lies elsewhere. D14
//! reaches this module only through a column name in an error message, and
//! D15's FLOAT unique key through the FLOAT literal.

use mysql_async::Value as P;

use super::{literal, protocol_literal, protocol_text, text, Literal, RenderError, SqlColumn};
use crate::{ColumnInfo, ColumnType, Value};

/// Checks a binlog value's literal (for a column `col`) and text (with the
/// column's description `info`).
#[track_caller]
fn check(v: Value, col: SqlColumn<'_>, info: Option<&ColumnInfo>, lit: &str, txt: &str) {
    let mut s = String::new();
    let got = literal(&mut s, &v, &col);
    assert!(got.is_ok(), "{v:?}: {got:?}");
    assert_eq!(s, lit, "literal of {v:?}");
    assert_eq!(text(&v, info), txt, "text of {v:?}");
}

/// Checks a protocol value's literal and report text.
#[track_caller]
fn check_protocol(v: P, col: SqlColumn<'_>, lit: &str, txt: &str) {
    let mut s = String::new();
    let _ = protocol_literal(&mut s, &v, &col);
    assert_eq!(s, lit, "literal of {v:?}");
    assert_eq!(protocol_text(&v), txt, "text of {v:?}");
}

fn c() -> SqlColumn<'static> {
    SqlColumn::new("c")
}

fn ts(seconds: u32, micros: u32, fsp: u8) -> Value {
    Value::Timestamp {
        seconds,
        micros,
        fsp,
    }
}

#[allow(clippy::too_many_arguments)]
fn dt(year: u16, month: u8, day: u8, h: u8, mi: u8, s: u8, micros: u32, fsp: u8) -> Value {
    Value::DateTime {
        year,
        month,
        day,
        hour: h,
        minute: mi,
        second: s,
        micros,
        fsp,
    }
}

fn time(negative: bool, hours: u32, minutes: u8, seconds: u8, micros: u32, fsp: u8) -> Value {
    Value::Time {
        negative,
        hours,
        minutes,
        seconds,
        micros,
        fsp,
    }
}

#[test]
fn d1_timestamps_are_utc() {
    check(
        ts(1, 0, 0),
        c(),
        None,
        "'1970-01-01 00:00:01'",
        "'1970-01-01 00:00:01' /* UTC, epoch 1 */",
    );
    check(
        ts(2_147_483_647, 999_999, 6),
        c(),
        None,
        "'2038-01-19 03:14:07.999999'",
        "'2038-01-19 03:14:07.999999' /* UTC, epoch 2147483647 */",
    );
    // The hour a DST change skips in Europe is an ordinary UTC time.
    check(
        ts(1_616_893_200, 0, 0),
        c(),
        None,
        "'2021-03-28 01:00:00'",
        "'2021-03-28 01:00:00' /* UTC, epoch 1616893200 */",
    );
    check(
        ts(1_616_893_200, 500_000, 2),
        c(),
        None,
        "'2021-03-28 01:00:00.500000'",
        "'2021-03-28 01:00:00.50' /* UTC, epoch 1616893200 */",
    );
}

#[test]
fn d2_zero_and_partial_zero_dates_stay_as_stored() {
    check(
        Value::Date {
            year: 0,
            month: 0,
            day: 0,
        },
        c(),
        None,
        "'0000-00-00'",
        "'0000-00-00'",
    );
    check(
        dt(2020, 0, 15, 0, 0, 0, 0, 0),
        c(),
        None,
        "'2020-00-15 00:00:00'",
        "'2020-00-15 00:00:00'",
    );
    check(
        dt(0, 0, 0, 0, 0, 0, 0, 6),
        c(),
        None,
        "'0000-00-00 00:00:00.000000'",
        "'0000-00-00 00:00:00.000000'",
    );
    // The zero TIMESTAMP is the zero date as a literal; the text shows its
    // epoch.
    check(
        ts(0, 0, 0),
        c(),
        None,
        "'0000-00-00 00:00:00'",
        "'1970-01-01 00:00:00' /* UTC, epoch 0 */",
    );
    check(
        ts(0, 0, 2),
        c(),
        None,
        "'0000-00-00 00:00:00.000000'",
        "'1970-01-01 00:00:00.00' /* UTC, epoch 0 */",
    );
    // NULL is not a zero date.
    check(Value::Null, c(), None, "NULL", "NULL");
    check_protocol(P::NULL, c(), "NULL", "NULL");
    check_protocol(
        P::Date(0, 0, 0, 0, 0, 0, 0),
        c().data_type("date"),
        "'0000-00-00 00:00:00.000000'",
        "'0000-00-00 00:00:00.000000'",
    );
}

#[test]
fn d3_fractions_keep_every_digit() {
    check(
        dt(2000, 1, 1, 0, 0, 0, 1, 6),
        c(),
        None,
        "'2000-01-01 00:00:00.000001'",
        "'2000-01-01 00:00:00.000001'",
    );
    check(
        dt(9999, 12, 31, 23, 59, 59, 999_999, 6),
        c(),
        None,
        "'9999-12-31 23:59:59.999999'",
        "'9999-12-31 23:59:59.999999'",
    );
    for (fsp, txt) in [
        (1, "'2024-06-30 12:34:56.7'"),
        (2, "'2024-06-30 12:34:56.78'"),
        (3, "'2024-06-30 12:34:56.789'"),
        (4, "'2024-06-30 12:34:56.7890'"),
        (5, "'2024-06-30 12:34:56.78900'"),
    ] {
        check(
            dt(2024, 6, 30, 12, 34, 56, 789_000, fsp),
            c(),
            None,
            "'2024-06-30 12:34:56.789000'",
            txt,
        );
    }
    check_protocol(
        P::Date(2000, 1, 1, 0, 0, 0, 1),
        c().data_type("datetime"),
        "'2000-01-01 00:00:00.000001'",
        "'2000-01-01 00:00:00.000001'",
    );
}

#[test]
fn d4_times_beyond_a_day_and_negative() {
    check(
        time(true, 838, 59, 59, 0, 0),
        c(),
        None,
        "'-838:59:59'",
        "'-838:59:59'",
    );
    check(
        time(false, 838, 59, 59, 0, 0),
        c(),
        None,
        "'838:59:59'",
        "'838:59:59'",
    );
    check(
        time(true, 0, 0, 0, 10_000, 2),
        c(),
        None,
        "'-00:00:00.010000'",
        "'-00:00:00.01'",
    );
    check(
        time(false, 255, 0, 0, 0, 0),
        c(),
        None,
        "'255:00:00'",
        "'255:00:00'",
    );
    check(
        time(true, 507, 48, 27, 1, 6),
        c(),
        None,
        "'-507:48:27.000001'",
        "'-507:48:27.000001'",
    );
    // The protocol carries days and hours.
    check_protocol(
        P::Time(true, 34, 22, 59, 59, 0),
        c().data_type("time"),
        "'-838:59:59.000000'",
        "'-838:59:59.000000'",
    );
    check_protocol(
        P::Time(false, 10, 15, 0, 0, 0),
        c().data_type("time"),
        "'255:00:00.000000'",
        "'255:00:00.000000'",
    );
    check_protocol(
        P::Time(true, 0, 0, 0, 0, 10_000),
        c().data_type("time"),
        "'-00:00:00.010000'",
        "'-00:00:00.010000'",
    );
}

#[test]
fn d5_decimals_are_their_exact_text() {
    for d in [
        "-99999999999999999999999999999999999.999999999999999999999999999999",
        "99999999999999999999999999999999999.999999999999999999999999999999",
        "-0.000000000000000000000000000001",
        "-99999999999999999999999999999999999999999999999999999999999999999",
        "99999999.99",
        "-0.00001",
        "0",
    ] {
        check(Value::Decimal(d.into()), c(), None, d, d);
        check_protocol(
            P::Bytes(d.as_bytes().to_vec()),
            c().data_type("decimal"),
            d,
            &format!("{d:?}"),
        );
    }
}

#[test]
fn d6_floats_are_bit_exact() {
    check(
        Value::Float(f32::MAX),
        c(),
        None,
        "3.4028234663852886e38",
        "3.4028235e38",
    );
    check(
        Value::Float(-f32::MAX),
        c(),
        None,
        "-3.4028234663852886e38",
        "-3.4028235e38",
    );
    check(
        Value::Float(f32::MIN_POSITIVE),
        c(),
        None,
        "1.1754943508222875e-38",
        "1.1754944e-38",
    );
    // The smallest subnormals.
    check(
        Value::Float(f32::from_bits(1)),
        c(),
        None,
        "1.401298464324817e-45",
        "1e-45",
    );
    check(
        Value::Double(f64::from_bits(1)),
        c(),
        None,
        "5e-324",
        "5e-324",
    );
    check(
        Value::Double(-f64::MAX),
        c(),
        None,
        "-1.7976931348623157e308",
        "-1.7976931348623157e308",
    );
    check(Value::Float(-0.0), c(), None, "-0e0", "-0.0");
    check(Value::Double(-0.0), c(), None, "-0e0", "-0.0");
    // FLOAT(7,4): the float nearest 999.9999, exactly.
    check(
        Value::Float(999.9999),
        c(),
        None,
        "9.999998779296875e2",
        "999.9999",
    );
    // D15: a FLOAT unique key is matched by the same exact literal.
    check(Value::Float(0.1), c(), None, "1.0000000149011612e-1", "0.1");
    check_protocol(
        P::Float(f32::from_bits(1)),
        c().data_type("float"),
        "1.401298464324817e-45",
        "1.401298464324817e-45[f32 0x00000001]",
    );
    check_protocol(
        P::Double(-0.0),
        c().data_type("double"),
        "-0e0",
        "-0e0[f64 0x8000000000000000]",
    );
    check_protocol(
        P::Double(f64::from_bits(1)),
        c().data_type("double"),
        "5e-324",
        "5e-324[f64 0x0000000000000001]",
    );
}

#[test]
fn d7_integer_edges_and_years() {
    check(
        Value::UInt(u64::MAX),
        c(),
        None,
        "18446744073709551615",
        "18446744073709551615",
    );
    check(
        Value::Int(i64::MIN),
        c(),
        None,
        "-9223372036854775808",
        "-9223372036854775808",
    );
    check(Value::Int(-128), c(), None, "-128", "-128");
    check(Value::Int(0), c(), None, "0", "0");
    // A MEDIUMINT whose signedness the binlog did not say.
    let mi = Value::IntUnknownSign {
        raw: 0x80_0000,
        bytes: 3,
    };
    check(mi.clone(), c(), None, "-8388608", "-8388608 (8388608)");
    check(
        mi,
        c().unsigned(true),
        None,
        "8388608",
        "-8388608 (8388608)",
    );
    check(
        Value::IntUnknownSign {
            raw: 0x7f_ffff,
            bytes: 3,
        },
        c(),
        None,
        "8388607",
        "8388607",
    );
    for y in [0, 1901, 2155] {
        check(Value::Year(y), c(), None, &y.to_string(), &y.to_string());
    }
    let year = c().data_type("year");
    check_protocol(P::Int(0), year, "'0000'", "0");
    check_protocol(P::UInt(1901), year, "'1901'", "1901");
    check_protocol(P::Int(2155), year, "'2155'", "2155");
    check_protocol(
        P::UInt(u64::MAX),
        c().data_type("bigint"),
        "18446744073709551615",
        "18446744073709551615",
    );
    check_protocol(P::Int(-128), c().data_type("tinyint"), "-128", "-128");
}

#[test]
fn d8_bits_enums_and_sets() {
    check(Value::Bit { value: 1, width: 1 }, c(), None, "1", "b'1'");
    check(Value::Bit { value: 0, width: 1 }, c(), None, "0", "b'0'");
    check(
        Value::Bit {
            value: 513,
            width: 10,
        },
        c(),
        None,
        "513",
        "b'1000000001'",
    );
    check(
        Value::Bit {
            value: u64::MAX,
            width: 64,
        },
        c(),
        None,
        "18446744073709551615",
        &format!("b'{}'", "1".repeat(64)),
    );
    let mut e = ColumnInfo::new(ColumnType::STRING, 0xf701);
    e.enum_values = Some(vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    check(Value::Enum(3), c(), Some(&e), "3", "'c'");
    check(Value::Enum(3), c(), None, "3", "3");
    // Index 0, the empty error value: a number, which the server warns
    // about when it stores it.
    check(Value::Enum(0), c(), Some(&e), "0", "0");
    let mut s = String::new();
    assert_eq!(
        literal(&mut s, &Value::Enum(0), &c()),
        Ok(Literal::EnumEmpty)
    );
    // An index past the names the caller gave shows as a number.
    check(Value::Enum(4), c(), Some(&e), "4", "4");
    let mut set = ColumnInfo::new(ColumnType::STRING, 0xf801);
    set.set_values = Some(vec![b"x".to_vec(), b"y".to_vec(), b"z".to_vec()]);
    check(Value::Set(7), c(), Some(&set), "7", "'x,y,z'");
    check(Value::Set(0), c(), Some(&set), "0", "''");
    check(Value::Set(2), c(), None, "2", "2");
    // Through the protocol BIT is bytes, ENUM and SET their names.
    check_protocol(
        P::Bytes(vec![0x80, 0, 0, 0, 0, 0, 0, 1]),
        c().data_type("bit"),
        "X'8000000000000001'",
        "0x8000000000000001",
    );
    check_protocol(
        P::Bytes(vec![1]),
        c().data_type("bit"),
        "X'01'",
        "\"\\u{1}\"",
    );
    let en = c().data_type("enum").charset(Some("utf8mb4"));
    check_protocol(P::Bytes(b"c".to_vec()), en, "_utf8mb4 X'63'", "\"c\"");
    let mut lit = String::new();
    assert_eq!(
        protocol_literal(&mut lit, &P::Bytes(Vec::new()), &en),
        Literal::EnumEmpty
    );
    assert_eq!(lit, "_utf8mb4 X''");
    check_protocol(
        P::Bytes(b"x,y,z".to_vec()),
        c().data_type("set").charset(Some("latin1")),
        "_latin1 X'782C792C7A'",
        "\"x,y,z\"",
    );
}

#[test]
fn d9_strings_are_bytes_never_transcoded() {
    let utf8 = c().charset(Some("utf8mb4"));
    check(
        Value::Bytes("😀 日本".as_bytes().to_vec()),
        utf8,
        None,
        "_utf8mb4 X'F09F988020E697A5E69CAC'",
        "'😀 日本'",
    );
    // latin1 and gbk bytes are not UTF-8: hex in the text too.
    check(
        Value::Bytes(b"caf\xE9 \xFF".to_vec()),
        c().charset(Some("latin1")),
        None,
        "_latin1 X'636166E920FF'",
        "x'636166e920ff'",
    );
    check(
        Value::Bytes(vec![0xC4, 0xE3, 0xBA, 0xC3]),
        c().charset(Some("gbk")),
        None,
        "_gbk X'C4E3BAC3'",
        "x'c4e3bac3'",
    );
    check(
        Value::Bytes(vec![0x00, 0xFF, 0x27, 0x22, 0x5C]),
        c(),
        None,
        "X'00FF27225C'",
        "x'00ff27225c'",
    );
    // BINARY(16): the trailing zero bytes the binlog leaves out are put
    // back.
    check(
        Value::Bytes(vec![0x00, 0x27, 0x5C]),
        c().binary_length(16),
        None,
        "X'00275C00000000000000000000000000'",
        "'\u{0}\\'\\\\'",
    );
    check(
        Value::Bytes(vec![0xFF; 16]),
        c().binary_length(16),
        None,
        "X'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF'",
        &format!("x'{}'", "ff".repeat(16)),
    );
    // Case and trailing spaces are kept.
    check(
        Value::Bytes(b"A".to_vec()),
        utf8,
        None,
        "_utf8mb4 X'41'",
        "'A'",
    );
    check(
        Value::Bytes(b"trailing  ".to_vec()),
        utf8,
        None,
        "_utf8mb4 X'747261696C696E672020'",
        "'trailing  '",
    );
    check_protocol(
        P::Bytes(b"caf\xE9".to_vec()),
        c().data_type("varchar").charset(Some("latin1")),
        "_latin1 X'636166E9'",
        "0x636166e9",
    );
    check_protocol(
        P::Bytes("😀".as_bytes().to_vec()),
        c().data_type("varchar").charset(Some("utf8mb4")),
        "_utf8mb4 X'F09F9880'",
        "\"😀\"",
    );
    check_protocol(
        P::Bytes(b"a ".to_vec()),
        c().data_type("char").charset(Some("utf8mb4")),
        "_utf8mb4 X'6120'",
        "\"a \"",
    );
}

#[test]
fn d10_json_is_its_text_as_utf8mb4() {
    let doc = r#"{"b": 1, "a": [1e400, 12345678901234567890, 0.1], "c": "\u0000"}"#;
    let mut hex = String::from("_utf8mb4 ");
    super::hex_literal(&mut hex, doc.as_bytes());
    check(
        Value::Json(doc.into()),
        c(),
        None,
        &hex,
        r#"'{"b": 1, "a": [1e400, 12345678901234567890, 0.1], "c": "\\u0000"}'"#,
    );
    check(
        Value::Json("[]".into()),
        c(),
        None,
        "_utf8mb4 X'5B5D'",
        "'[]'",
    );
    // A partial update is not a value.
    let mut s = String::new();
    assert_eq!(
        literal(
            &mut s,
            &Value::JsonDiffs(Vec::new()),
            &SqlColumn::new("j`1")
        ),
        Err(RenderError::PartialJson {
            column: "j`1".into()
        })
    );
    assert_eq!(text(&Value::JsonDiffs(Vec::new()), None), "[]");
    // On MariaDB JSON is a LONGTEXT: bytes through the protocol.
    check_protocol(
        P::Bytes(doc.as_bytes().to_vec()),
        c().data_type("longtext").charset(Some("utf8mb4")),
        &hex,
        &format!("{doc:?}"),
    );
}

#[test]
fn d11_blobs_null_empty_and_special_bytes() {
    check(Value::Bytes(Vec::new()), c(), None, "X''", "''");
    check(
        Value::Bytes(Vec::new()),
        c().charset(Some("binary")),
        None,
        "_binary X''",
        "''",
    );
    check(Value::Null, c(), None, "NULL", "NULL");
    check(Value::Bytes(vec![0]), c(), None, "X'00'", "'\u{0}'");
    check(
        Value::Bytes(b"quote ' backslash \\ % _ ; --".to_vec()),
        c(),
        None,
        "X'71756F74652027206261636B736C617368205C2025205F203B202D2D'",
        r"'quote \' backslash \\ % _ ; --'",
    );
    // A large value is rendered whole, in both forms.
    let big = vec![b'x'; 1 << 20];
    let mut s = String::new();
    let _ = literal(&mut s, &Value::Bytes(big.clone()), &c());
    assert_eq!(s.len(), 3 + (2 << 20));
    assert_eq!(text(&Value::Bytes(big.clone()), None).len(), 2 + (1 << 20));
    // The report text cuts it.
    assert_eq!(
        protocol_text(&P::Bytes(big)),
        format!("{:?}...(1048576 bytes)", "x".repeat(60))
    );
    check_protocol(
        P::Bytes(Vec::new()),
        c().data_type("blob").charset(Some("binary")),
        "_binary X''",
        "\"\"",
    );
}

#[test]
fn d13_geometry_is_srid_then_wkb() {
    // POINT(1 2) with SRID 4326.
    let point = vec![
        0x01, 0x01, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0, 0, 0, 0, 0, 0, 0, 0x40,
    ];
    check(
        Value::Geometry {
            srid: 4326,
            wkb: point,
        },
        c(),
        None,
        "X'E61000000101000000000000000000F03F0000000000000040'",
        "ST_GeomFromWKB(x'0101000000000000000000f03f0000000000000040', 4326)",
    );
    // GEOMETRYCOLLECTION EMPTY.
    check(
        Value::Geometry {
            srid: 0,
            wkb: vec![0x01, 0x07, 0, 0, 0, 0, 0, 0, 0],
        },
        c(),
        None,
        "X'00000000010700000000000000'",
        "ST_GeomFromWKB(x'010700000000000000', 0)",
    );
    // Through the protocol GEOMETRY is the same bytes, with no character set.
    check_protocol(
        P::Bytes(vec![0xE6, 0x10, 0, 0, 0x01, 0x07, 0, 0, 0, 0, 0, 0, 0]),
        c().data_type("geometry").charset(Some("binary")),
        "_binary X'E6100000010700000000000000'",
        "0xe6100000010700000000000000",
    );
}
