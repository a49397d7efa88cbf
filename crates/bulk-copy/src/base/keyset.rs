//! Keyset ranges: the `WHERE` clause that reads a key range in key order
//! (never OFFSET), and arithmetic boundaries splitting an integer key's
//! span (verification's; the copy finds its split points on the source,
//! see `copy/plan.rs`). The copy reads its chunks with them, verification
//! compares its ranges with them.
//!
//! A bound is a key as the server returned it, sent back as a parameter.
//! Where the server would compare that parameter differently from the way
//! it orders the column, [`key_param`] wraps it, so that every comparison
//! is the server's own, in the column's type and collation (never in
//! Rust): a DECIMAL bound is cast to DECIMAL and a BIT one to an unsigned
//! integer, so that neither is compared through DOUBLE (a BIT column
//! against a string parameter is, on MariaDB 10.11, which loses the bits
//! past 2^53; the manuals give DOUBLE for a DECIMAL against a string too),
//! and a string in the
//! column's character set and collation, sent as hexadecimal text (the
//! server would replace the bytes of, say, a latin1 value that are not
//! valid in the connection's utf8mb4, and refuse to compare a latin1 column
//! with a utf8mb4 parameter). ENUM and SET keys are read as their numbers (`col + 0`),
//! the order their index sorts in.

use mysql_async::Value;

use crate::base::meta::ColumnMeta;

/// How a keyset bound of one key column is sent: its placeholder
/// expression, and whether the value is sent as hexadecimal text (which
/// the expression decodes). A string in another character set than the
/// connection's is: the server would check a parameter's bytes against the
/// connection's character set and replace what is not valid there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyBound {
    /// The expression the `?` is in.
    pub placeholder: String,
    /// The value is sent as hexadecimal text.
    pub hex: bool,
}

impl KeyBound {
    /// A bound sent as it is, in a plain `?`.
    pub fn plain() -> Self {
        KeyBound {
            placeholder: "?".into(),
            hex: false,
        }
    }

    /// The parameter to send for the key value `v`.
    pub fn bind(&self, v: &Value) -> Value {
        match v {
            Value::Bytes(b) if self.hex => {
                let mut h = Vec::with_capacity(b.len() * 2);
                for x in b {
                    h.extend_from_slice(format!("{x:02X}").as_bytes());
                }
                Value::Bytes(h)
            }
            v => v.clone(),
        }
    }
}

/// How a keyset bound of column `c` is sent (see the module
/// documentation).
pub fn key_param(c: &ColumnMeta) -> KeyBound {
    let (placeholder, hex) = match c.data_type.as_str() {
        "decimal" => (
            format!("CAST(? AS DECIMAL(65, {}))", c.numeric_scale.min(30)),
            false,
        ),
        "bit" => ("CAST(CONV(HEX(?), 16, 10) AS UNSIGNED)".into(), false),
        "enum" | "set" => ("?".into(), false),
        _ => match &c.collation {
            Some((cs, coll)) if plain_word(cs) && plain_word(coll) => {
                (format!("CONVERT(UNHEX(?) USING {cs}) COLLATE {coll}"), true)
            }
            _ => ("?".into(), false),
        },
    };
    KeyBound { placeholder, hex }
}

/// Whether a key column of this type is read as its number (`col + 0`) for
/// the keyset: ENUM and SET, which sort by index and bitmask.
pub fn key_read_as_number(c: &ColumnMeta) -> bool {
    matches!(c.data_type.as_str(), "enum" | "set")
}

/// A character set or collation name that can be written unquoted.
fn plain_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `n - 1` boundaries splitting `[lo, hi]` into `n` ranges of equal width,
/// each a range's inclusive upper bound, strictly below `hi` and without
/// repeats. Empty when either bound is not an integer (or integer text).
pub fn split(lo: Option<Value>, hi: Option<Value>, n: u64) -> Vec<Value> {
    let as_i128 = |v: &Value| match v {
        Value::Int(i) => Some(i128::from(*i)),
        Value::UInt(u) => Some(i128::from(*u)),
        Value::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    };
    let (Some(lo_v), Some(hi_v)) = (lo, hi) else {
        return Vec::new();
    };
    let (Some(a), Some(b)) = (as_i128(&lo_v), as_i128(&hi_v)) else {
        return Vec::new();
    };
    let unsigned = matches!(lo_v, Value::UInt(_)) || a >= 0;
    let mut out: Vec<Value> = Vec::new();
    for i in 1..n {
        let x = a + (b - a) * i128::from(i) / i128::from(n);
        let v = if unsigned {
            u64::try_from(x).map(Value::UInt).ok()
        } else {
            i64::try_from(x).map(Value::Int).ok()
        };
        if let Some(v) = v {
            if out.last() != Some(&v) && x < b {
                out.push(v);
            }
        }
    }
    out
}

/// `WHERE` for a keyset read of the key columns `keys` (quoted): the
/// filter, then keys after `after` (exclusive), up to `hi` (inclusive).
/// Returns the clause (empty, or starting with ` WHERE`) and its
/// parameters in order.
pub fn range_condition(
    keys: &[String],
    filter: Option<&str>,
    after: Option<&[Value]>,
    hi: Option<&[Value]>,
) -> (String, Vec<Value>) {
    let plain = vec![KeyBound::plain(); keys.len()];
    range_condition_with(keys, &plain, filter, after, hi)
}

/// [`range_condition`] with each key column's bound sent its own way
/// (`bounds`, one per key column: see [`key_param`]).
pub fn range_condition_with(
    keys: &[String],
    bounds: &[KeyBound],
    filter: Option<&str>,
    after: Option<&[Value]>,
    hi: Option<&[Value]>,
) -> (String, Vec<Value>) {
    let mut parts = Vec::new();
    let mut params = Vec::new();
    if let Some(f) = filter {
        parts.push(f.to_string());
    }
    // (k1, k2, ...) > (v1, v2, ...), spelled out so every server uses the
    // index: k1 > ? OR (k1 = ? AND k2 > ?) OR ...
    let mut tuple = |vals: &[Value], op_last: &str, op: &str| {
        let mut ors = Vec::new();
        for i in 0..keys.len() {
            let mut ands = Vec::new();
            for j in 0..i {
                ands.push(format!("{} = {}", keys[j], bounds[j].placeholder));
                params.push(bounds[j].bind(&vals[j]));
            }
            let o = if i + 1 == keys.len() { op_last } else { op };
            ands.push(format!("{} {o} {}", keys[i], bounds[i].placeholder));
            params.push(bounds[i].bind(&vals[i]));
            ors.push(format!("({})", ands.join(" AND ")));
        }
        format!("({})", ors.join(" OR "))
    };
    if let Some(a) = after {
        parts.push(tuple(a, ">", ">"));
    }
    if let Some(h) = hi {
        parts.push(tuple(h, "<=", "<"));
    }
    if parts.is_empty() {
        (String::new(), params)
    } else {
        (format!(" WHERE {}", parts.join(" AND ")), params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_after_its_start_and_up_to_its_end_key_by_key() {
        let keys = ["`a`".to_string(), "`b`".to_string()];
        let (sql, params) = range_condition(
            &keys,
            Some("`a` > 0"),
            Some(&[Value::Int(1), Value::Int(2)]),
            Some(&[Value::Int(5), Value::Int(6)]),
        );
        assert_eq!(
            sql,
            " WHERE `a` > 0 AND ((`a` > ?) OR (`a` = ? AND `b` > ?)) \
             AND ((`a` < ?) OR (`a` = ? AND `b` <= ?))"
        );
        assert_eq!(
            params,
            [1, 1, 2, 5, 5, 6].map(Value::Int).to_vec(),
            "parameters in the clause's order"
        );
        assert_eq!(
            range_condition(&keys, None, None, None),
            (String::new(), vec![])
        );
    }

    #[test]
    fn splits_integer_spans_evenly_and_nothing_else() {
        assert_eq!(
            split(Some(Value::Int(0)), Some(Value::Int(100)), 4),
            [25, 50, 75].map(Value::UInt).to_vec()
        );
        assert_eq!(
            split(Some(Value::Int(-100)), Some(Value::Int(100)), 2),
            vec![Value::Int(0)]
        );
        // Fewer distinct values than ranges: no repeats, none at the end.
        assert_eq!(
            split(Some(Value::UInt(1)), Some(Value::UInt(2)), 8),
            vec![Value::UInt(1)]
        );
        assert!(split(Some(Value::Bytes(b"x".to_vec())), Some(Value::Int(9)), 3).is_empty());
        assert!(split(None, Some(Value::Int(9)), 3).is_empty());
    }
}
