//! The client's side of the comparison: rows read through the binary
//! protocol (FLOAT and DOUBLE as their bits, temporal values as fields,
//! strings and blobs as their bytes untranscoded) and compared value by
//! value.

use std::collections::HashMap;

use futures::StreamExt;
use mysql_async::prelude::*;
use mysql_async::{Conn, Row, Value};

use bulk_copy::base::error::{db_err, CopyError};

/// Appends a value's exact encoding: a tag per kind and explicit lengths, so
/// different values never encode alike. Numbers are encoded by value, so
/// that an `INT` and a `BIGINT UNSIGNED` holding 5 are equal, and a FLOAT by
/// the double it widens to exactly (a FLOAT and a DOUBLE column holding the
/// same number are equal; two floats a last bit apart are not).
pub(crate) fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::NULL => out.push(0),
        Value::Bytes(b) => {
            out.push(1);
            out.extend_from_slice(&(b.len() as u64).to_le_bytes());
            out.extend_from_slice(b);
        }
        Value::Int(i) if *i < 0 => {
            out.push(2);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Int(i) => {
            out.push(3);
            out.extend_from_slice(&i.unsigned_abs().to_le_bytes());
        }
        Value::UInt(u) => {
            out.push(3);
            out.extend_from_slice(&u.to_le_bytes());
        }
        Value::Float(x) => {
            out.push(4);
            out.extend_from_slice(&f64::from(*x).to_bits().to_le_bytes());
        }
        Value::Double(x) => {
            out.push(4);
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

/// Whether two values are exactly the same.
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    encode(a, &mut x);
    encode(b, &mut y);
    x == y
}

/// The exact encoding of the values at `idx`.
pub(crate) fn key_bytes(row: &[Value], idx: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    for &i in idx {
        encode(row.get(i).unwrap_or(&Value::NULL), &mut out);
    }
    out
}

/// Reads every row of a query through the binary protocol.
pub(crate) async fn fetch(
    conn: &mut Conn,
    sql: &str,
    params: Vec<Value>,
    server: &'static str,
    table: &str,
) -> Result<Vec<Vec<Value>>, CopyError> {
    let what = || format!("reading rows of {table}");
    let mut result = conn
        .exec_iter(sql, params)
        .await
        .map_err(db_err(server, what()))?;
    let mut out = Vec::new();
    if let Some(mut stream) = result
        .stream::<Row>()
        .await
        .map_err(db_err(server, what()))?
    {
        while let Some(row) = stream.next().await {
            out.push(row.map_err(db_err(server, what()))?.unwrap());
        }
    }
    Ok(out)
}

/// How one key differs.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RowDiff {
    /// On the source only: the source row.
    Missing(Vec<Value>),
    /// On the target only: the target row.
    Extra(Vec<Value>),
    /// On both, with these columns (indexes) differing: source and target
    /// rows.
    Different(Vec<Value>, Vec<Value>, Vec<usize>),
}

impl RowDiff {
    /// The row the key is read from.
    pub(crate) fn row(&self) -> &[Value] {
        match self {
            RowDiff::Missing(r) | RowDiff::Extra(r) | RowDiff::Different(r, _, _) => r,
        }
    }
}

/// Compares two sets of rows by key (`key` are column indexes). Keys match
/// by their exact bytes: a key changed to a collation-equal spelling is a
/// missing row and an extra one.
pub(crate) fn diff(
    source: Vec<Vec<Value>>,
    target: Vec<Vec<Value>>,
    key: &[usize],
) -> Vec<RowDiff> {
    let mut by_key: HashMap<Vec<u8>, Vec<Value>> = HashMap::with_capacity(target.len());
    let mut target_order = Vec::with_capacity(target.len());
    for row in target {
        let k = key_bytes(&row, key);
        target_order.push(k.clone());
        by_key.insert(k, row);
    }
    let mut out = Vec::new();
    for s in source {
        let k = key_bytes(&s, key);
        match by_key.remove(&k) {
            None => out.push(RowDiff::Missing(s)),
            Some(t) => {
                let cols: Vec<usize> = (0..s.len().max(t.len()))
                    .filter(|&i| {
                        !same(
                            s.get(i).unwrap_or(&Value::NULL),
                            t.get(i).unwrap_or(&Value::NULL),
                        )
                    })
                    .collect();
                if !cols.is_empty() {
                    out.push(RowDiff::Different(s, t, cols));
                }
            }
        }
    }
    // Extra rows in the target's order.
    for k in target_order {
        if let Some(t) = by_key.remove(&k) {
            out.push(RowDiff::Extra(t));
        }
    }
    out
}

/// Reads the rows of a query that `keep` accepts, dropping the others as
/// they stream by.
pub(crate) async fn fetch_filtered(
    conn: &mut Conn,
    sql: &str,
    server: &'static str,
    table: &str,
    keep: impl Fn(&[Value]) -> bool,
) -> Result<Vec<Vec<Value>>, CopyError> {
    let what = || format!("reading rows of {table}");
    let mut result = conn
        .exec_iter(sql, ())
        .await
        .map_err(db_err(server, what()))?;
    let mut out = Vec::new();
    if let Some(mut stream) = result
        .stream::<Row>()
        .await
        .map_err(db_err(server, what()))?
    {
        while let Some(row) = stream.next().await {
            let row = row.map_err(db_err(server, what()))?.unwrap();
            if keep(&row) {
                out.push(row);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Value {
        Value::Bytes(s.as_bytes().to_vec())
    }

    #[test]
    fn exact_values_differ_where_collations_and_text_forms_agree() {
        assert!(!same(&b("a"), &b("A")));
        assert!(!same(&b("a"), &b("a ")));
        assert!(!same(&Value::NULL, &b("")));
        let f = 0.1f32;
        let g = f32::from_bits(f.to_bits() + 1);
        assert!(!same(&Value::Float(f), &Value::Float(g)));
        assert!(same(&Value::Float(0.5), &Value::Double(0.5)));
        assert!(same(&Value::Int(5), &Value::UInt(5)));
        assert!(!same(&Value::Int(-1), &Value::UInt(u64::MAX)));
    }

    #[test]
    fn diff_finds_missing_extra_and_changed_columns() {
        let s = vec![
            vec![Value::Int(1), b("x")],
            vec![Value::Int(2), b("y")],
            vec![Value::Int(3), b("z")],
        ];
        let t = vec![
            vec![Value::Int(1), b("x")],
            vec![Value::Int(3), b("Z")],
            vec![Value::Int(4), b("w")],
        ];
        let d = diff(s, t, &[0]);
        assert_eq!(
            d,
            vec![
                RowDiff::Missing(vec![Value::Int(2), b("y")]),
                RowDiff::Different(
                    vec![Value::Int(3), b("z")],
                    vec![Value::Int(3), b("Z")],
                    vec![1]
                ),
                RowDiff::Extra(vec![Value::Int(4), b("w")]),
            ]
        );
    }
}
