//! Tables and rows for every MySQL column type and edge value the test
//! catalogue's D cases need (D1 to D13: temporal values, zero dates,
//! fractions, TIME ranges, DECIMAL extremes, FLOAT/DOUBLE bits, integer
//! edges, YEAR, BIT, ENUM/SET, charsets and bytes, JSON, BLOB/TEXT,
//! invisible columns, GEOMETRY) and D14 (odd identifiers), plus a
//! primary key on a column prefix.
//!
//! Each case is a table whose first column is an `INT` primary key `id`
//! (so every row is addressable), then the columns under test, with rows
//! whose values are the edges, and a row of NULLs. The same cases serve the
//! decoder tests and the tests that apply written files to a target and
//! compare what it holds with what was written.

use super::json::Json;
use super::schema::{BlobSize, Collation, Column, ColumnType, GeometryKind, TableDef};
use super::value::Value;

/// A table and rows for it.
#[derive(Clone, Debug)]
pub struct Case {
    /// A short name (also the table's name).
    pub name: &'static str,
    /// The table, in database `dts_types`, with FULL metadata.
    pub table: TableDef,
    /// The rows, one value per column.
    pub rows: Vec<Vec<Value>>,
}

/// The database the cases' tables are in.
pub const SCHEMA: &str = "dts_types";

fn table(name: &str, id: u64, cols: Vec<Column>) -> TableDef {
    let mut t = TableDef::new(SCHEMA, name, id).col("id", ColumnType::Int { unsigned: false });
    for c in cols {
        t = t.column(c);
    }
    t.primary_key(&["id"])
}

/// Numbers the rows (`id` = 1, 2, ...) and adds a row of NULLs.
fn rows(width: usize, values: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    let mut out: Vec<Vec<Value>> = values
        .into_iter()
        .enumerate()
        .map(|(i, mut r)| {
            r.insert(0, Value::Int(i as i64 + 1));
            r
        })
        .collect();
    let mut nulls = vec![Value::Int(out.len() as i64 + 1)];
    nulls.extend(std::iter::repeat_n(Value::Null, width));
    out.push(nulls);
    out
}

/// `micros` cut to `fsp` digits.
fn cut(micros: u32, fsp: u8) -> u32 {
    let unit = 10u32.pow(6 - u32::from(fsp));
    micros / unit * unit
}

/// Well-known binary of POINT(x y).
pub fn wkb_point(x: f64, y: f64) -> Vec<u8> {
    let mut v = vec![1, 1, 0, 0, 0];
    v.extend_from_slice(&x.to_le_bytes());
    v.extend_from_slice(&y.to_le_bytes());
    v
}

/// Well-known binary of a one-ring POLYGON.
pub fn wkb_polygon(ring: &[(f64, f64)]) -> Vec<u8> {
    let mut v = vec![1, 3, 0, 0, 0];
    v.extend_from_slice(&1u32.to_le_bytes());
    v.extend_from_slice(&(ring.len() as u32).to_le_bytes());
    for (x, y) in ring {
        v.extend_from_slice(&x.to_le_bytes());
        v.extend_from_slice(&y.to_le_bytes());
    }
    v
}

/// Every case, with table ids from `first_table_id` on.
pub fn all(first_table_id: u64) -> Vec<Case> {
    let builders: Vec<fn(u64) -> Case> = vec![
        integers,
        floats,
        decimals,
        years,
        dates,
        times,
        datetimes,
        timestamps,
        bits,
        enums_and_sets,
        strings,
        blobs,
        json,
        geometry,
        invisible,
    ];
    builders
        .into_iter()
        .enumerate()
        .map(|(i, b)| b(first_table_id + i as u64))
        .collect()
}

/// D7: every integer width, signed and unsigned, at its edges.
pub fn integers(id: u64) -> Case {
    let mut cols = Vec::new();
    for (name, s, u) in [
        (
            "ti",
            ColumnType::TinyInt { unsigned: false },
            ColumnType::TinyInt { unsigned: true },
        ),
        (
            "si",
            ColumnType::SmallInt { unsigned: false },
            ColumnType::SmallInt { unsigned: true },
        ),
        (
            "mi",
            ColumnType::MediumInt { unsigned: false },
            ColumnType::MediumInt { unsigned: true },
        ),
        (
            "i",
            ColumnType::Int { unsigned: false },
            ColumnType::Int { unsigned: true },
        ),
        (
            "bi",
            ColumnType::BigInt { unsigned: false },
            ColumnType::BigInt { unsigned: true },
        ),
    ] {
        cols.push(Column::new(&format!("{name}_s"), s));
        cols.push(Column::new(&format!("{name}_u"), u));
    }
    let bits = [8u32, 16, 24, 32, 64];
    let row = |f: &dyn Fn(u32) -> (i64, u64)| -> Vec<Value> {
        bits.iter()
            .flat_map(|b| {
                let (s, u) = f(*b);
                [Value::Int(s), Value::UInt(u)]
            })
            .collect()
    };
    let min = |b: u32| -> i64 {
        if b == 64 {
            i64::MIN
        } else {
            -(1i64 << (b - 1))
        }
    };
    let max = |b: u32| -> i64 {
        if b == 64 {
            i64::MAX
        } else {
            (1i64 << (b - 1)) - 1
        }
    };
    let umax = |b: u32| -> u64 {
        if b == 64 {
            u64::MAX
        } else {
            (1u64 << b) - 1
        }
    };
    let values = vec![
        row(&|b| (min(b), 0)),
        row(&|b| (max(b), umax(b))),
        row(&|_| (0, 1)),
        row(&|_| (-1, 0x80)),
        row(&|b| (min(b) + 1, umax(b) - 1)),
    ];
    Case {
        name: "integers",
        table: table("integers", id, cols),
        rows: rows(10, values),
    }
}

/// D6: FLOAT and DOUBLE bit-exact: signed zeros, subnormals, extremes,
/// values with no short decimal form.
pub fn floats(id: u64) -> Case {
    let cols = vec![
        Column::new("f", ColumnType::Float),
        Column::new("d", ColumnType::Double),
    ];
    let values: Vec<Vec<Value>> = [
        (0.0f32, 0.0f64),
        (-0.0, -0.0),
        (f32::from_bits(1), f64::from_bits(1)),
        (f32::MIN_POSITIVE, f64::MIN_POSITIVE),
        (f32::MAX, f64::MAX),
        (f32::MIN, f64::MIN),
        (123.4567, 0.1),
        (-1.5, 1e-300),
        (3.402_823_5e38, 2.225_073_858_507_201e-308),
    ]
    .into_iter()
    .map(|(f, d)| vec![Value::Float(f), Value::Double(d)])
    .collect();
    Case {
        name: "floats",
        table: table("floats", id, cols),
        rows: rows(2, values),
    }
}

/// D5: DECIMAL(65,30), DECIMAL(65,0), an unsigned DECIMAL, and one whose
/// digits are all after the point.
pub fn decimals(id: u64) -> Case {
    let cols = vec![
        Column::new(
            "d65_30",
            ColumnType::Decimal {
                precision: 65,
                scale: 30,
                unsigned: false,
            },
        ),
        Column::new(
            "d65_0",
            ColumnType::Decimal {
                precision: 65,
                scale: 0,
                unsigned: false,
            },
        ),
        Column::new(
            "du",
            ColumnType::Decimal {
                precision: 10,
                scale: 2,
                unsigned: true,
            },
        ),
        Column::new(
            "d5_5",
            ColumnType::Decimal {
                precision: 5,
                scale: 5,
                unsigned: false,
            },
        ),
    ];
    let nines = |n: usize| "9".repeat(n);
    let values = vec![
        vec![
            Value::Decimal(format!("{}.{}", nines(35), nines(30))),
            Value::Decimal(nines(65)),
            Value::decimal("99999999.99"),
            Value::decimal("0.99999"),
        ],
        vec![
            Value::Decimal(format!("-{}.{}", nines(35), nines(30))),
            Value::Decimal(format!("-{}", nines(65))),
            Value::decimal("0.00"),
            Value::decimal("-0.99999"),
        ],
        vec![
            Value::Decimal(format!("-0.{}1", "0".repeat(29))),
            Value::decimal("0"),
            Value::decimal("0.01"),
            Value::decimal("0.00001"),
        ],
        vec![
            Value::decimal("123456789.000000001000000000000000000001"),
            Value::decimal("-1000000000"),
            Value::decimal("12345678.90"),
            Value::decimal("0.00000"),
        ],
    ];
    Case {
        name: "decimals",
        table: table("decimals", id, cols),
        rows: rows(4, values),
    }
}

/// D7: YEAR 0, 1901, 2155.
pub fn years(id: u64) -> Case {
    let cols = vec![Column::new("y", ColumnType::Year)];
    let values = [0u16, 1901, 2155, 2024]
        .into_iter()
        .map(|y| vec![Value::Year(y)])
        .collect();
    Case {
        name: "years",
        table: table("years", id, cols),
        rows: rows(1, values),
    }
}

/// D2: zero and partial-zero dates, the range's ends.
pub fn dates(id: u64) -> Case {
    let cols = vec![Column::new("d", ColumnType::Date)];
    let values = [
        (0u16, 0u8, 0u8),
        (2024, 0, 15),
        (2024, 2, 0),
        (1000, 1, 1),
        (9999, 12, 31),
        (2024, 2, 29),
    ]
    .into_iter()
    .map(|(y, m, d)| vec![Value::date(y, m, d)])
    .collect();
    Case {
        name: "dates",
        table: table("dates", id, cols),
        rows: rows(1, values),
    }
}

/// D3, D4: TIME(0) to TIME(6): the range's ends, beyond 255 hours,
/// negative values with fractions.
pub fn times(id: u64) -> Case {
    let cols: Vec<Column> = (0..=6)
        .map(|f| Column::new(&format!("t{f}"), ColumnType::Time { fsp: f }))
        .collect();
    let logical: Vec<(bool, u32, u8, u8, u32)> = vec![
        (false, 838, 59, 59, 0),
        (true, 838, 59, 59, 0),
        (false, 0, 0, 0, 0),
        (true, 0, 0, 0, 10_000),
        (false, 255, 0, 0, 0),
        (true, 507, 48, 27, 0),
        (false, 12, 34, 56, 999_999),
        (true, 1, 0, 0, 500_000),
        (true, 0, 0, 1, 1),
        (false, 23, 59, 59, 123_456),
    ];
    let values = logical
        .into_iter()
        .map(|(neg, h, m, s, us)| {
            (0..=6u8)
                .map(|f| {
                    let us = cut(us, f);
                    // A negative zero time is just zero.
                    let neg = neg && (h, m, s, us) != (0, 0, 0, 0);
                    Value::time(neg, h, m, s, us)
                })
                .collect()
        })
        .collect();
    Case {
        name: "times",
        table: table("times", id, cols),
        rows: rows(7, values),
    }
}

/// D2, D3: DATETIME(0) to DATETIME(6): zero and partial-zero values, the
/// range's ends, .000001 and .999999.
pub fn datetimes(id: u64) -> Case {
    let cols: Vec<Column> = (0..=6)
        .map(|f| Column::new(&format!("dt{f}"), ColumnType::DateTime { fsp: f }))
        .collect();
    let logical: Vec<(u16, u8, u8, u8, u8, u8, u32)> = vec![
        (0, 0, 0, 0, 0, 0, 0),
        (2024, 0, 0, 0, 0, 0, 0),
        (1000, 1, 1, 0, 0, 0, 0),
        (9999, 12, 31, 23, 59, 59, 999_999),
        (2024, 2, 29, 12, 34, 56, 1),
        (1970, 1, 1, 0, 0, 1, 100_000),
    ];
    let values = logical
        .into_iter()
        .map(|(y, mo, d, h, mi, s, us)| {
            (0..=6u8)
                .map(|f| Value::datetime(y, mo, d, h, mi, s, cut(us, f)))
                .collect()
        })
        .collect();
    Case {
        name: "datetimes",
        table: table("datetimes", id, cols),
        rows: rows(7, values),
    }
}

/// D1, D3: TIMESTAMP(0) to TIMESTAMP(6): the zero timestamp, the first
/// second, 2038-01-19 03:14:07, fractions.
pub fn timestamps(id: u64) -> Case {
    let cols: Vec<Column> = (0..=6)
        .map(|f| Column::new(&format!("ts{f}"), ColumnType::Timestamp { fsp: f }))
        .collect();
    let logical: Vec<(u32, u32)> = vec![
        (0, 0),
        (1, 0),
        (2_147_483_647, 999_999),
        (1_700_000_000, 500_000),
        (1_711_846_800, 1),
    ];
    let values = logical
        .into_iter()
        .map(|(s, us)| (0..=6u8).map(|f| Value::timestamp(s, cut(us, f))).collect())
        .collect();
    Case {
        name: "timestamps",
        table: table("timestamps", id, cols),
        rows: rows(7, values),
    }
}

/// D8: BIT(1) to BIT(64).
pub fn bits(id: u64) -> Case {
    let widths = [1u8, 7, 8, 9, 17, 63, 64];
    let cols: Vec<Column> = widths
        .iter()
        .map(|w| Column::new(&format!("b{w}"), ColumnType::Bit { width: *w }))
        .collect();
    let max = |w: u8| if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
    let values = vec![
        widths.iter().map(|_| Value::Bit(0)).collect(),
        widths.iter().map(|w| Value::Bit(max(*w))).collect(),
        widths.iter().map(|w| Value::Bit(1u64 << (w - 1))).collect(),
        widths
            .iter()
            .map(|w| Value::Bit(0xa5a5_a5a5_a5a5_a5a5 & max(*w)))
            .collect(),
    ];
    Case {
        name: "bits",
        table: table("bits", id, cols),
        rows: rows(widths.len(), values),
    }
}

/// D8: ENUM index 0 (the empty error value) and its last member, an ENUM
/// of 300 members (2-byte index), SET none / all, a SET of 64 members.
pub fn enums_and_sets(id: u64) -> Case {
    let many: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let sixty_four: Vec<String> = (0..64).map(|i| format!("s{i}")).collect();
    let sixty_four: Vec<&str> = sixty_four.iter().map(String::as_str).collect();
    let cols = vec![
        Column::new("e", ColumnType::enumeration(&["a", "b", "c"])),
        Column::new(
            "e_latin1",
            ColumnType::Enum {
                members: vec![b"\xe9t\xe9".to_vec(), b"hiver".to_vec()],
                collation: Collation::LATIN1_SWEDISH_CI,
            },
        ),
        Column::new("e300", ColumnType::enumeration(&many)),
        Column::new("s", ColumnType::set(&["x", "y", "z"])),
        Column::new(
            "s9",
            ColumnType::set(&["a", "b", "c", "d", "e", "f", "g", "h", "i"]),
        ),
        Column::new("s64", ColumnType::set(&sixty_four)),
    ];
    let values = vec![
        vec![
            Value::Enum(0),
            Value::Enum(1),
            Value::Enum(300),
            Value::Set(0),
            Value::Set(0),
            Value::Set(0),
        ],
        vec![
            Value::Enum(3),
            Value::Enum(2),
            Value::Enum(1),
            Value::Set(7),
            Value::Set(0x1ff),
            Value::Set(u64::MAX),
        ],
        vec![
            Value::Enum(1),
            Value::Enum(0),
            Value::Enum(256),
            Value::Set(2),
            Value::Set(0x100),
            Value::Set(1 << 63),
        ],
    ];
    Case {
        name: "enums_sets",
        table: table("enums_sets", id, cols),
        rows: rows(6, values),
    }
}

/// D9: CHAR, BINARY, VARCHAR and VARBINARY with 1- and 2-byte lengths in
/// utf8mb4, latin1, gbk and binary: emoji, latin1 high bytes, invalid
/// UTF-8, quotes and backslashes, trailing spaces, NUL bytes.
pub fn strings(id: u64) -> Case {
    let cols = vec![
        Column::new("c10", ColumnType::char(10, Collation::UTF8MB4_0900_AI_CI)),
        Column::new("c255", ColumnType::char(255, Collation::UTF8MB4_BIN)),
        Column::new(
            "c_latin1",
            ColumnType::char(10, Collation::LATIN1_SWEDISH_CI),
        ),
        Column::new("c_gbk", ColumnType::char(10, Collation::GBK_CHINESE_CI)),
        Column::new("bin16", ColumnType::binary(16)),
        Column::new(
            "v10",
            ColumnType::varchar(10, Collation::UTF8MB4_0900_AI_CI),
        ),
        Column::new(
            "v100",
            ColumnType::varchar(100, Collation::UTF8MB4_0900_AI_CI),
        ),
        Column::new(
            "v300_latin1",
            ColumnType::varchar(300, Collation::LATIN1_BIN),
        ),
        Column::new("vb255", ColumnType::varbinary(255)),
        Column::new("vb256", ColumnType::varbinary(256)),
    ];
    let emoji = "\u{1F600}\u{1F680}".as_bytes().to_vec();
    let values = vec![
        vec![
            Value::bytes(&emoji),
            Value::Bytes("\u{1F600}".repeat(255).into_bytes()),
            Value::bytes(b"caf\xe9 \xff"),
            Value::bytes(b"\xd6\xd0\xce\xc4"),
            Value::bytes(b"\x00\x27\x5c\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\xff"),
            Value::bytes("a'b\"c\\d%_;"),
            Value::Bytes("\u{00e9}".repeat(100).into_bytes()),
            Value::Bytes(vec![0xe9; 300]),
            Value::Bytes((0..=254).collect()),
            Value::Bytes((0..=255).collect()),
        ],
        vec![
            Value::bytes(""),
            Value::bytes(" lead"),
            Value::bytes("A"),
            Value::bytes(""),
            Value::bytes(b"\x27\x5c"),
            Value::bytes(""),
            Value::bytes("trailing  "),
            Value::bytes(""),
            Value::bytes(b"\x80\x81\xfe\xff"),
            Value::bytes(b""),
        ],
        vec![
            Value::bytes("a"),
            Value::bytes("A"),
            Value::bytes("a"),
            Value::bytes("x"),
            Value::Bytes(vec![0; 16]),
            Value::bytes("\u{0}nul"),
            Value::bytes("x"),
            Value::bytes("y"),
            Value::bytes(b"\x00"),
            Value::bytes(b"\x00\x00"),
        ],
    ];
    Case {
        name: "strings",
        table: table("strings", id, cols),
        rows: rows(10, values),
    }
}

/// D11: TINYBLOB to LONGBLOB and TINYTEXT to LONGTEXT (1 to 4 length
/// bytes): empty, a NUL, SQL metacharacters, the longest TINYBLOB, a value
/// over 64 KiB.
pub fn blobs(id: u64) -> Case {
    let cols = vec![
        Column::new("tb", ColumnType::blob(BlobSize::Tiny)),
        Column::new("b", ColumnType::blob(BlobSize::Blob)),
        Column::new("mb", ColumnType::blob(BlobSize::Medium)),
        Column::new("lb", ColumnType::blob(BlobSize::Long)),
        Column::new(
            "tt",
            ColumnType::text(BlobSize::Tiny, Collation::UTF8MB4_0900_AI_CI),
        ),
        Column::new(
            "t",
            ColumnType::text(BlobSize::Blob, Collation::LATIN1_SWEDISH_CI),
        ),
        Column::new(
            "mt",
            ColumnType::text(BlobSize::Medium, Collation::UTF8MB4_BIN),
        ),
        Column::new(
            "lt",
            ColumnType::text(BlobSize::Long, Collation::UTF8MB4_0900_AI_CI),
        ),
    ];
    let values = vec![
        vec![
            Value::bytes(b""),
            Value::bytes(b"\x00"),
            Value::bytes("';\\%_--"),
            Value::bytes(b""),
            Value::bytes(""),
            Value::bytes(b"\xe9\xe8"),
            Value::bytes("\u{1F600}"),
            Value::bytes(""),
        ],
        vec![
            Value::Bytes(vec![0xab; 255]),
            Value::Bytes(vec![0xcd; 65_535]),
            Value::Bytes((0..70_000u32).map(|i| (i % 251) as u8).collect()),
            Value::Bytes(vec![0x5c; 70_000]),
            Value::Bytes("x".repeat(255).into_bytes()),
            Value::Bytes(vec![b'\''; 1000]),
            Value::Bytes("\u{00e9}".repeat(40_000).into_bytes()),
            Value::Bytes("\u{1F680}".repeat(20_000).into_bytes()),
        ],
    ];
    Case {
        name: "blobs",
        table: table("blobs", id, cols),
        rows: rows(8, values),
    }
}

/// D10: JSON objects and arrays (small and large forms), literals, every
/// integer width, doubles, strings with escapes, opaque DECIMAL, DATE,
/// DATETIME, TIME and BLOB values, deep nesting, duplicate keys.
pub fn json(id: u64) -> Case {
    let cols = vec![Column::new("j", ColumnType::Json)];
    let mut deep = Json::Int(1);
    for i in 0..90 {
        deep = if i % 2 == 0 {
            Json::Array(vec![deep])
        } else {
            Json::object(vec![("k", deep)])
        };
    }
    let big = Json::object(vec![
        ("big", Json::String("x".repeat(70_000))),
        ("n", Json::Int(1)),
        ("arr", Json::Array((0..2000).map(Json::Int).collect())),
    ]);
    let docs = vec![
        Json::object(vec![
            ("a", Json::Int(1)),
            (
                "bb",
                Json::Array(vec![Json::Bool(true), Json::Bool(false), Json::Null]),
            ),
            ("c", Json::str("d")),
        ]),
        Json::Array(vec![
            Json::Int(-32768),
            Json::Int(32767),
            Json::Int(-32769),
            Json::Int(2_147_483_647),
            Json::Int(-2_147_483_649),
            Json::Int(i64::MIN),
            Json::UInt(65_535),
            Json::UInt(4_294_967_295),
            Json::UInt(u64::MAX),
        ]),
        Json::Array(vec![
            Json::Double(0.1),
            Json::Double(-0.0),
            Json::Double(1e300),
            Json::Double(1.5),
            Json::Double(f64::from_bits(1)),
            Json::Double(123_456_789_012_345.0),
            Json::Double(1e15),
        ]),
        Json::Array(vec![
            Json::str("quote \" backslash \\ nl \n tab \t nul \u{0} bell \u{7} slash / del \u{7f}"),
            Json::str("\u{1F600} \u{00e9}"),
            Json::str(""),
        ]),
        Json::Array(vec![
            Json::decimal("1.50", 10, 2),
            Json::decimal("-0.000001", 20, 6),
            Json::Date {
                year: 2015,
                month: 1,
                day: 15,
            },
            Json::DateTime {
                year: 2015,
                month: 1,
                day: 15,
                hour: 23,
                minute: 24,
                second: 25,
                micros: 123_456,
            },
            Json::Time {
                negative: true,
                hours: 838,
                minutes: 59,
                seconds: 59,
                micros: 0,
            },
            Json::Opaque {
                field_type: 252,
                data: vec![0x00, 0xff, 0x10],
            },
        ]),
        Json::object(vec![
            ("dup", Json::Int(1)),
            ("dup", Json::Int(2)),
            ("", Json::Null),
        ]),
        Json::Object(vec![]),
        Json::Array(vec![]),
        Json::Null,
        Json::Bool(true),
        Json::Int(42),
        Json::str("top-level string"),
        Json::Double(2.5),
        deep,
        big,
    ];
    let values = docs.into_iter().map(|d| vec![Value::Json(d)]).collect();
    Case {
        name: "json",
        table: table("json", id, cols),
        rows: rows(1, values),
    }
}

/// D13: GEOMETRY, POINT and POLYGON with and without an SRID, an empty
/// geometry collection.
pub fn geometry(id: u64) -> Case {
    let cols = vec![
        Column::new(
            "g",
            ColumnType::Geometry {
                kind: GeometryKind::Geometry,
            },
        ),
        Column::new(
            "p",
            ColumnType::Geometry {
                kind: GeometryKind::Point,
            },
        ),
        Column::new(
            "poly",
            ColumnType::Geometry {
                kind: GeometryKind::Polygon,
            },
        ),
    ];
    let square = [(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0), (0.0, 0.0)];
    let values = vec![
        vec![
            Value::Geometry {
                srid: 0,
                wkb: wkb_point(1.0, 2.0),
            },
            Value::Geometry {
                srid: 4326,
                wkb: wkb_point(-73.9857, 40.7484),
            },
            Value::Geometry {
                srid: 4326,
                wkb: wkb_polygon(&square),
            },
        ],
        vec![
            Value::Geometry {
                srid: 0,
                wkb: vec![1, 7, 0, 0, 0, 0, 0, 0, 0],
            },
            Value::Geometry {
                srid: 0,
                wkb: wkb_point(0.0, -0.0),
            },
            Value::Geometry {
                srid: 3857,
                wkb: wkb_polygon(&square),
            },
        ],
    ];
    Case {
        name: "geometry",
        table: table("geometry", id, cols),
        rows: rows(3, values),
    }
}

/// D12: an INVISIBLE column (COLUMN_VISIBILITY in FULL metadata) between
/// visible ones.
pub fn invisible(id: u64) -> Case {
    let cols = vec![
        Column::new("hidden", ColumnType::Int { unsigned: true }).invisible(),
        Column::new(
            "shown",
            ColumnType::varchar(8, Collation::UTF8MB4_0900_AI_CI),
        ),
    ];
    let values = vec![vec![Value::UInt(7), Value::bytes("x")]];
    Case {
        name: "invisible",
        table: table("invisible", id, cols),
        rows: rows(2, values),
    }
}

/// D14: identifiers with a backtick, a dot, quotes, spaces, non-ASCII
/// letters, a reserved word, and 64 characters.
pub fn identifiers(id: u64) -> Case {
    let long = "l".repeat(64);
    let cols = vec![
        Column::new("col`tick", ColumnType::Int { unsigned: false }),
        Column::new(
            "dotted.name",
            ColumnType::varchar(8, Collation::UTF8MB4_0900_AI_CI),
        ),
        Column::new("it's \"quoted\"", ColumnType::Int { unsigned: false }),
        Column::new(
            "\u{fc}n\u{ef}c\u{f8}d\u{e9} \u{1F600}",
            ColumnType::Int { unsigned: false },
        ),
        Column::new("select", ColumnType::Int { unsigned: false }),
        Column::new(&long, ColumnType::Int { unsigned: false }),
    ];
    let values = vec![vec![
        Value::Int(1),
        Value::bytes("a.b"),
        Value::Int(2),
        Value::Int(3),
        Value::Int(4),
        Value::Int(5),
    ]];
    Case {
        name: "identifiers",
        table: table("odd`table.name 'x'", id, cols),
        rows: rows(6, values),
    }
}

/// A primary key on a column prefix and a second column
/// (PRIMARY_KEY_WITH_PREFIX in FULL metadata).
pub fn prefix_key(id: u64) -> Case {
    let t = TableDef::new(SCHEMA, "prefix_key", id)
        .col("id", ColumnType::Int { unsigned: false })
        .col(
            "name",
            ColumnType::varchar(100, Collation::UTF8MB4_0900_AI_CI),
        )
        .col(
            "body",
            ColumnType::text(BlobSize::Blob, Collation::UTF8MB4_0900_AI_CI),
        )
        .primary_key_prefix(&[("name", 10), ("id", 0)]);
    let rows = vec![
        vec![
            Value::Int(1),
            Value::bytes("alpha-long-name-1"),
            Value::bytes("x"),
        ],
        vec![
            Value::Int(2),
            Value::bytes("alpha-long-name-1"),
            Value::Null,
        ],
        vec![Value::Int(3), Value::bytes("beta"), Value::bytes("")],
    ];
    Case {
        name: "prefix_key",
        table: t,
        rows,
    }
}
