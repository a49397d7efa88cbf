//! Per-table filter conditions, checked before they go near a server
//! (design rule 20): one boolean expression over the table's own columns,
//! with no `;`, no comments, no subqueries, no variables or placeholders,
//! and only functions whose result depends on their arguments alone.
//!
//! The same condition decides which rows the full copy reads and, later,
//! which changes incremental migration applies; a function of the clock
//! (`NOW()`), of chance (`RAND()`) or of the session would select different
//! rows at different times, so they are refused, as are functions with
//! side effects (`SLEEP`, `GET_LOCK`, `LOAD_FILE`, ...).

use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

/// Functions a filter may call: deterministic, without side effects.
const ALLOWED_FUNCTIONS: &[&str] = &[
    "ABS",
    "ASCII",
    "BIN",
    "BIT_LENGTH",
    "CEIL",
    "CEILING",
    "CHAR_LENGTH",
    "CHARACTER_LENGTH",
    "COALESCE",
    "CONCAT",
    "CONCAT_WS",
    "CONV",
    "CRC32",
    "DATE",
    "DATEDIFF",
    "DATE_ADD",
    "DATE_FORMAT",
    "DATE_SUB",
    "DAY",
    "DAYOFMONTH",
    "DAYOFWEEK",
    "DAYOFYEAR",
    "ELT",
    "FIELD",
    "FIND_IN_SET",
    "FLOOR",
    "FROM_DAYS",
    "GREATEST",
    "HEX",
    "HOUR",
    "IF",
    "IFNULL",
    "INSTR",
    "ISNULL",
    "JSON_CONTAINS",
    "JSON_CONTAINS_PATH",
    "JSON_EXTRACT",
    "JSON_LENGTH",
    "JSON_TYPE",
    "JSON_UNQUOTE",
    "JSON_VALUE",
    "LCASE",
    "LEAST",
    "LEFT",
    "LENGTH",
    "LOCATE",
    "LOWER",
    "LPAD",
    "LTRIM",
    "MD5",
    "MICROSECOND",
    "MID",
    "MINUTE",
    "MOD",
    "MONTH",
    "NULLIF",
    "OCTET_LENGTH",
    "ORD",
    "POSITION",
    "QUARTER",
    "REPEAT",
    "REPLACE",
    "REVERSE",
    "RIGHT",
    "ROUND",
    "RPAD",
    "RTRIM",
    "SECOND",
    "SHA1",
    "SHA2",
    "SIGN",
    "SUBSTR",
    "SUBSTRING",
    "SUBSTRING_INDEX",
    "TIME",
    "TIMESTAMPDIFF",
    "TO_DAYS",
    "TO_SECONDS",
    "TRIM",
    "TRUNCATE",
    "UCASE",
    "UNHEX",
    "UPPER",
    "WEEK",
    "WEEKDAY",
    "YEAR",
    "YEARWEEK",
];

/// Why a filter was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the filter condition {condition:?} is refused: {reason}")]
pub struct FilterError {
    /// The condition as given.
    pub condition: String,
    /// What is wrong with it and what is allowed instead.
    pub reason: String,
}

/// Checks `condition` against the table's `columns` and returns it ready to
/// embed in a `WHERE` clause (in parentheses).
///
/// # Errors
///
/// [`FilterError`] saying what is not allowed.
pub fn validate_filter(condition: &str, columns: &[String]) -> Result<String, FilterError> {
    let fail = |reason: String| FilterError {
        condition: condition.to_string(),
        reason,
    };
    if condition.trim().is_empty() {
        return Err(fail(
            "it is empty; leave the filter out to copy every row".into(),
        ));
    }
    let dialect = MySqlDialect {};
    let tokens = Tokenizer::new(&dialect, condition)
        .tokenize()
        .map_err(|e| fail(format!("it cannot be read as SQL: {e}")))?;
    for t in &tokens {
        let bad = match t {
            Token::SemiColon => Some("a `;` (one expression only)"),
            Token::Whitespace(Whitespace::SingleLineComment { .. })
            | Token::Whitespace(Whitespace::MultiLineComment(_)) => Some("a comment"),
            Token::Placeholder(_) => Some("a placeholder"),
            Token::AtSign | Token::AtAt => Some("a variable"),
            Token::Word(w) if w.quote_style.is_none() && w.value.starts_with('@') => {
                Some("a variable")
            }
            _ => None,
        };
        if let Some(what) = bad {
            return Err(fail(format!("it contains {what}")));
        }
    }
    let mut parser = Parser::new(&dialect)
        .try_with_sql(condition)
        .map_err(|e| fail(format!("it cannot be read as SQL: {e}")))?;
    parser
        .parse_expr()
        .map_err(|e| fail(format!("it is not one SQL expression: {e}")))?;
    if parser.peek_token().token != Token::EOF {
        return Err(fail(format!(
            "it is more than one expression (unexpected {} after it)",
            parser.peek_token().token
        )));
    }
    // The expression parsed: now every word in it is a column, an operator
    // or literal keyword, or an allowed function.
    let significant: Vec<&Token> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    for (i, t) in significant.iter().enumerate() {
        let Token::Word(w) = t else { continue };
        let upper = w.value.to_ascii_uppercase();
        let next = significant.get(i + 1);
        let prev = i.checked_sub(1).and_then(|j| significant.get(j));
        if matches!(next, Some(Token::Period)) || matches!(prev, Some(Token::Period)) {
            return Err(fail(format!(
                "{} names another table or schema; name the table's own columns only",
                w.value
            )));
        }
        if w.quote_style.is_none() && matches!(upper.as_str(), "SELECT" | "EXISTS") {
            return Err(fail(
                "it contains a subquery; use conditions on the table's own columns".into(),
            ));
        }
        if w.quote_style.is_none() && matches!(next, Some(Token::LParen)) {
            if ALLOWED_FUNCTIONS.contains(&upper.as_str())
                || OPERATOR_WORDS.contains(&upper.as_str())
                || matches!(upper.as_str(), "CAST" | "CONVERT")
            {
                continue;
            }
            return Err(fail(format!(
                "the function {upper} is not allowed: a filter may only call functions whose \
                 result depends on their arguments alone, without side effects ({})",
                ALLOWED_FUNCTIONS.join(", ")
            )));
        }
        let column = columns.iter().any(|c| c.eq_ignore_ascii_case(&w.value));
        let keyword = w.quote_style.is_none() && OPERATOR_WORDS.contains(&upper.as_str());
        if !column && !keyword {
            return Err(fail(format!(
                "`{}` is not a column of the table (its columns: {})",
                w.value,
                columns.join(", ")
            )));
        }
    }
    Ok(format!("({condition})"))
}

/// Rewrites a condition checked by [`validate_filter`] for a copy of the
/// table whose columns have other names (the target of a copy with renamed
/// columns): every column it names is replaced by its new name, quoted; every
/// other byte stays as it was. `columns` are the table's columns and
/// `renames` maps some of them (source name, new name). Returns `None` when
/// the condition names a column that `renames` leaves out, so it cannot be
/// evaluated on the other copy.
///
/// # Errors
///
/// [`FilterError`] when the condition cannot be tokenized.
pub fn rename_filter_columns(
    condition: &str,
    columns: &[String],
    renames: &[(String, String)],
) -> Result<Option<String>, FilterError> {
    let toks = schema_diff::tokens::tokenize(condition)
        .map_err(|e| FilterError {
            condition: condition.to_string(),
            reason: format!("it cannot be read as SQL: {e}"),
        })?
        .toks;
    let mut rewriter = schema_diff::tokens::Rewriter::new(condition);
    for (i, t) in toks.iter().enumerate() {
        let Some(name) = t.ident() else { continue };
        let bare = t.keyword().is_some();
        let next_is_paren = matches!(toks.get(i + 1).map(|n| &n.token), Some(Token::LParen));
        let after_as = i
            .checked_sub(1)
            .and_then(|j| toks.get(j))
            .is_some_and(|p| p.is_kw("AS"));
        if bare && (next_is_paren || after_as) {
            // A function name, or a type name in CAST(x AS t).
            continue;
        }
        if !columns.iter().any(|c| c.eq_ignore_ascii_case(name)) {
            continue;
        }
        match renames
            .iter()
            .find(|(from, _)| from.eq_ignore_ascii_case(name))
        {
            Some((_, to)) => rewriter.replace(t.span.clone(), server_dialect::quote(to)),
            None => return Ok(None),
        }
    }
    rewriter.finish().map(Some).map_err(|e| FilterError {
        condition: condition.to_string(),
        reason: e.to_string(),
    })
}

/// Words that may appear in a filter besides columns and functions:
/// operators, literals, and the type and unit names of CAST and INTERVAL.
const OPERATOR_WORDS: &[&str] = &[
    "AND",
    "OR",
    "NOT",
    "XOR",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "UNKNOWN",
    "IN",
    "BETWEEN",
    "LIKE",
    "ESCAPE",
    "REGEXP",
    "RLIKE",
    "DIV",
    "MOD",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "AS",
    "BINARY",
    "INTERVAL",
    "USING",
    "SIGNED",
    "UNSIGNED",
    "INTEGER",
    "CHAR",
    "DATE",
    "DATETIME",
    "TIME",
    "DECIMAL",
    "DOUBLE",
    "FLOAT",
    "YEAR",
    "MONTH",
    "DAY",
    "HOUR",
    "MINUTE",
    "SECOND",
    "MICROSECOND",
    "WEEK",
    "QUARTER",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<String> {
        vec![
            "id".into(),
            "name".into(),
            "created".into(),
            "we`ird".into(),
        ]
    }

    #[test]
    fn accepts_boolean_expressions_over_own_columns() {
        for ok in [
            "id > 10",
            "id BETWEEN 1 AND 100 AND name LIKE 'a%'",
            "NAME IN ('x', 'y') OR created >= '2020-01-01'",
            "LOWER(name) = 'bob' AND MOD(id, 4) = 1",
            "`we``ird` IS NOT NULL",
            "id IS NULL OR TRUE",
        ] {
            assert_eq!(validate_filter(ok, &cols()).unwrap(), format!("({ok})"));
        }
    }

    #[test]
    fn renamed_columns_are_rewritten_and_nothing_else() {
        let renames = vec![
            ("id".to_string(), "new id".to_string()),
            ("name".to_string(), "n`m".to_string()),
            ("created".to_string(), "created".to_string()),
            ("we`ird".to_string(), "plain".to_string()),
        ];
        let f = "(ID > 10 AND LOWER(name) = 'name' AND CAST(created AS DATE) > '2020-01-01' \
                 AND `we``ird` IS NOT NULL)";
        assert_eq!(
            rename_filter_columns(f, &cols(), &renames)
                .unwrap()
                .as_deref(),
            Some(
                "(`new id` > 10 AND LOWER(`n``m`) = 'name' AND CAST(`created` AS DATE) > \
                 '2020-01-01' AND `plain` IS NOT NULL)"
            )
        );
        // A column the other copy lacks.
        assert_eq!(
            rename_filter_columns("created > '2020'", &cols(), &renames[..2]).unwrap(),
            None
        );
    }

    #[test]
    fn refuses_what_rule_20_forbids() {
        for (bad, why) in [
            ("", "empty"),
            ("id > 1; DROP TABLE t", "`;`"),
            ("id > 1 -- x", "comment"),
            ("id > 1 /* x */", "comment"),
            ("id IN (SELECT id FROM other)", "subquery"),
            ("EXISTS (SELECT 1)", "subquery"),
            ("id > @x", "variable"),
            ("id > ?", "placeholder"),
            ("SLEEP(10) = 0", "SLEEP"),
            ("created > NOW()", "NOW"),
            ("RAND() < 0.5", "RAND"),
            ("nope = 1", "not a column"),
            ("other.id = 1", "another table"),
            ("id > 1 id < 5", "more than one expression"),
            ("id >", "not one SQL expression"),
        ] {
            let e = validate_filter(bad, &cols()).unwrap_err();
            assert!(e.reason.contains(why), "{bad:?}: {e}");
        }
    }
}
