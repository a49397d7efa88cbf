//! Tokens with byte spans, version guards, and a rewriter that keeps every
//! byte outside the edited spans.
//!
//! sqlparser's tokenizer (MySQL dialect) reads everything the servers print:
//! routine bodies, backticks with doubled backticks, `''` and backslash
//! escapes. Its positions are lines and character columns; they are mapped
//! here to byte offsets into the original text.
//!
//! MySQL's `/*!NNNNN ... */` and MariaDB's `/*M!NNNNN ... */` version guards
//! are kept as comments by the tokenizer (its own expansion of them gives the
//! inner tokens wrong positions), then re-tokenized here with exact offsets.
//! Each inner token records the guard it came from, so a caller can decide,
//! for a given target version, whether the target will execute it.

use std::ops::Range;

use sqlparser::dialect::{Dialect, MySqlDialect};
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

use crate::error::SchemaError;
use crate::version::ServerVersion;

/// One significant token (no whitespace, no plain comments) and where its
/// bytes are in the text.
#[derive(Clone, Debug, PartialEq)]
pub struct Tok {
    /// The token, as sqlparser's tokenizer gives it (identifiers and strings
    /// unescaped).
    pub token: Token,
    /// The byte range of the token in the text.
    pub span: Range<usize>,
    /// The index into [`Tokens::guards`] of the version guard that holds this
    /// token, if any.
    pub guard: Option<usize>,
}

impl Tok {
    /// The word's value when the token is an unquoted word, upper-cased for
    /// keyword comparison; `None` for quoted identifiers and other tokens.
    pub fn keyword(&self) -> Option<String> {
        match &self.token {
            Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        }
    }

    /// Whether the token is the unquoted keyword `kw` (ASCII, any case).
    pub fn is_kw(&self, kw: &str) -> bool {
        match &self.token {
            Token::Word(w) => w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw),
            _ => false,
        }
    }

    /// The identifier the token names: a quoted identifier's unescaped text or
    /// a bare word's text. `None` for other tokens.
    pub fn ident(&self) -> Option<&str> {
        match &self.token {
            Token::Word(w) if w.quote_style.is_none() || w.quote_style == Some('`') => {
                Some(&w.value)
            }
            _ => None,
        }
    }
}

/// A version guard: `/*!NNNNN ... */` (MySQL and MariaDB) or
/// `/*M!NNNNN ... */` (MariaDB only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guard {
    /// The bytes of the whole comment, `/*` to `*/`.
    pub span: Range<usize>,
    /// The bytes of the content after the version number.
    pub content: Range<usize>,
    /// The version number (`50100` for 5.1.0), `None` for `/*! ... */`,
    /// which every version executes.
    pub version: Option<u32>,
    /// `/*M!...*/`: only MariaDB executes it.
    pub mariadb_only: bool,
}

impl Guard {
    /// Whether a server of version `target` executes the guarded text.
    ///
    /// MariaDB ignores MySQL guards numbered from 50700 to 99999 (MDEV-5009:
    /// MySQL 5.7 and later features are not MariaDB's, whatever MariaDB's
    /// own version number), so `/*!80023 INVISIBLE */` is a comment to it;
    /// its own `/*M!...*/` guards of any number run. MySQL never runs
    /// `/*M!...*/`.
    pub fn executes_on(&self, target: &ServerVersion) -> bool {
        if self.mariadb_only && !target.is_mariadb() {
            return false;
        }
        match self.version {
            None => true,
            Some(v)
                if target.is_mariadb() && !self.mariadb_only && (50700..100_000).contains(&v) =>
            {
                false
            }
            Some(v) => target.guard_number() >= v,
        }
    }
}

/// The tokens of a text and its version guards.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tokens {
    /// Significant tokens in text order, including those inside guards.
    pub toks: Vec<Tok>,
    /// The version guards in text order.
    pub guards: Vec<Guard>,
}

impl Tokens {
    /// The tokens a server of version `target` executes: those outside
    /// guards and those inside guards it executes.
    pub fn live(&self, target: &ServerVersion) -> Vec<Tok> {
        self.toks
            .iter()
            .filter(|t| match t.guard {
                None => true,
                Some(g) => self.guards.get(g).is_some_and(|g| g.executes_on(target)),
            })
            .cloned()
            .collect()
    }

    /// All tokens, as if every guard were executed (what a server that
    /// understands everything would see).
    pub fn all(&self) -> &[Tok] {
        &self.toks
    }
}

/// MySQL's dialect with the tokenizer's own expansion of `/*!...*/` hints
/// turned off, so guards stay comments with exact positions. Everything
/// else, including the dialect identity the tokenizer checks, is MySQL's.
#[derive(Debug, Default)]
struct GuardKeepingMySql(MySqlDialect);

impl Dialect for GuardKeepingMySql {
    fn dialect(&self) -> std::any::TypeId {
        self.0.dialect()
    }
    fn is_identifier_start(&self, ch: char) -> bool {
        self.0.is_identifier_start(ch)
    }
    fn is_identifier_part(&self, ch: char) -> bool {
        self.0.is_identifier_part(ch)
    }
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        self.0.is_delimited_identifier_start(ch)
    }
    fn is_custom_operator_part(&self, ch: char) -> bool {
        self.0.is_custom_operator_part(ch)
    }
    fn ignores_wildcard_escapes(&self) -> bool {
        self.0.ignores_wildcard_escapes()
    }
    fn requires_single_line_comment_whitespace(&self) -> bool {
        self.0.requires_single_line_comment_whitespace()
    }
    fn supports_copy_from_stdin_data(&self) -> bool {
        false
    }
    fn supports_dollar_placeholder(&self) -> bool {
        self.0.supports_dollar_placeholder()
    }
    fn supports_geometric_types(&self) -> bool {
        self.0.supports_geometric_types()
    }
    fn supports_hash_comment(&self) -> bool {
        self.0.supports_hash_comment()
    }
    fn supports_literal_prefix_in_qualified_name(&self) -> bool {
        self.0.supports_literal_prefix_in_qualified_name()
    }
    fn supports_multiline_comment_hints(&self) -> bool {
        false
    }
    fn supports_nested_comments(&self) -> bool {
        self.0.supports_nested_comments()
    }
    fn supports_numeric_literal_underscores(&self) -> bool {
        self.0.supports_numeric_literal_underscores()
    }
    fn supports_numeric_prefix(&self) -> bool {
        self.0.supports_numeric_prefix()
    }
    fn supports_pipe_operator(&self) -> bool {
        self.0.supports_pipe_operator()
    }
    fn supports_quote_delimited_string(&self) -> bool {
        self.0.supports_quote_delimited_string()
    }
    fn supports_string_escape_constant(&self) -> bool {
        self.0.supports_string_escape_constant()
    }
    fn supports_string_literal_backslash_escape(&self) -> bool {
        self.0.supports_string_literal_backslash_escape()
    }
    fn supports_tilde_like_match_operator(&self) -> bool {
        self.0.supports_tilde_like_match_operator()
    }
    fn supports_triple_quoted_string(&self) -> bool {
        self.0.supports_triple_quoted_string()
    }
    fn supports_tuple_element_access(&self) -> bool {
        self.0.supports_tuple_element_access()
    }
    fn supports_unicode_string_literal(&self) -> bool {
        self.0.supports_unicode_string_literal()
    }
    fn supports_unterminated_block_comments(&self) -> bool {
        self.0.supports_unterminated_block_comments()
    }
    fn supports_national_string_literal(&self) -> bool {
        self.0.supports_national_string_literal()
    }
    fn supports_non_decimal_integer_literals(&self) -> bool {
        self.0.supports_non_decimal_integer_literals()
    }
    fn supports_dollar_as_money_prefix(&self) -> bool {
        self.0.supports_dollar_as_money_prefix()
    }
    fn requires_hash_comment_space(&self) -> bool {
        self.0.requires_hash_comment_space()
    }
}

/// Maps the tokenizer's (line, character column) positions to byte offsets.
struct Offsets<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        Offsets { text, line_starts }
    }

    /// The byte offset of 1-based `line` and `column` (in characters).
    fn offset(&self, line: u64, column: u64) -> Option<usize> {
        let start = *self
            .line_starts
            .get(usize::try_from(line).ok()?.checked_sub(1)?)?;
        let col = usize::try_from(column).ok()?.checked_sub(1)?;
        let rest = self.text.get(start..)?;
        if col == 0 {
            return Some(start);
        }
        match rest.char_indices().nth(col) {
            Some((i, _)) => Some(start + i),
            // The position just past the last character.
            None if rest.chars().count() == col => Some(self.text.len()),
            None => None,
        }
    }
}

/// Tokenizes `text` with byte spans, and splits out version guards.
///
/// # Errors
///
/// [`SchemaError::Tokenize`] when the text is not tokenizable SQL (an
/// unterminated string, quoted identifier or comment), with the position.
pub fn tokenize(text: &str) -> Result<Tokens, SchemaError> {
    let mut out = Tokens::default();
    tokenize_into(text, 0, None, &mut out)?;
    Ok(out)
}

fn tokenize_into(
    text: &str,
    base: usize,
    guard: Option<usize>,
    out: &mut Tokens,
) -> Result<(), SchemaError> {
    let dialect = GuardKeepingMySql::default();
    let raw = Tokenizer::new(&dialect, text)
        .tokenize_with_location()
        .map_err(|e| SchemaError::Tokenize {
            message: e.to_string(),
            text: snippet(text),
        })?;
    let offsets = Offsets::new(text);
    for t in raw {
        let (Some(start), Some(end)) = (
            offsets.offset(t.span.start.line, t.span.start.column),
            offsets.offset(t.span.end.line, t.span.end.column),
        ) else {
            return Err(SchemaError::Tokenize {
                message: format!("a token position {:?} is outside the text", t.span),
                text: snippet(text),
            });
        };
        match t.token {
            Token::Whitespace(Whitespace::MultiLineComment(ref c)) if guard.is_none() => {
                if let Some((prefix_len, version, mariadb_only)) = guard_prefix(c) {
                    // `/*` + prefix, up to `*/`.
                    let content = (start + 2 + prefix_len)..end.saturating_sub(2);
                    let index = out.guards.len();
                    out.guards.push(Guard {
                        span: (base + start)..(base + end),
                        content: (base + content.start)..(base + content.end),
                        version,
                        mariadb_only,
                    });
                    let inner = text.get(content.clone()).unwrap_or_default();
                    tokenize_into(inner, base + content.start, Some(index), out)?;
                }
            }
            Token::Whitespace(_) | Token::EOF => {}
            token => out.toks.push(Tok {
                token,
                span: (base + start)..(base + end),
                guard,
            }),
        }
    }
    Ok(())
}

/// For a comment's text (between `/*` and `*/`): the length of a guard's
/// prefix (`!`, `M!`, digits), its version and whether it is MariaDB's.
fn guard_prefix(comment: &str) -> Option<(usize, Option<u32>, bool)> {
    let (rest, mariadb_only, mut len) = if let Some(r) = comment.strip_prefix("M!") {
        (r, true, 2)
    } else if let Some(r) = comment.strip_prefix('!') {
        (r, false, 1)
    } else {
        return None;
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    len += digits.len();
    // MySQL reads five or six digits as the version; fewer digits are text.
    let version = if digits.len() >= 5 {
        digits.parse::<u32>().ok()
    } else {
        len -= digits.len();
        None
    };
    Some((len, version, mariadb_only))
}

fn snippet(text: &str) -> String {
    let s: String = text.chars().take(120).collect();
    if s.len() < text.len() {
        format!("{s}...")
    } else {
        s
    }
}

/// Non-overlapping edits on a text; everything outside the edited spans is
/// kept byte for byte.
#[derive(Clone, Debug)]
pub struct Rewriter<'a> {
    text: &'a str,
    edits: Vec<(Range<usize>, String)>,
}

impl<'a> Rewriter<'a> {
    /// Starts editing `text`.
    pub fn new(text: &'a str) -> Self {
        Rewriter {
            text,
            edits: Vec::new(),
        }
    }

    /// Replaces the bytes `span` with `with`. An empty span inserts.
    pub fn replace(&mut self, span: Range<usize>, with: impl Into<String>) {
        self.edits.push((span, with.into()));
    }

    /// Inserts `text` at byte `at`.
    pub fn insert(&mut self, at: usize, text: impl Into<String>) {
        self.edits.push((at..at, text.into()));
    }

    /// Whether any edit was recorded.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// Applies the edits.
    ///
    /// Two inserts at the same position are applied in the order they were
    /// recorded. An edit that overlaps another, or a span outside the text or
    /// not on character boundaries, is refused.
    ///
    /// # Errors
    ///
    /// [`SchemaError::Rewrite`] naming the conflicting spans.
    pub fn finish(mut self) -> Result<String, SchemaError> {
        // A stable sort keeps same-position inserts in recording order.
        self.edits
            .sort_by_key(|(r, _)| (r.start, usize::from(r.end > r.start)));
        let mut out = String::with_capacity(self.text.len());
        let mut at = 0usize;
        for (span, with) in &self.edits {
            if span.start < at || span.end < span.start {
                return Err(SchemaError::Rewrite {
                    message: format!("edit {span:?} overlaps an earlier edit ending at {at}"),
                });
            }
            let keep = self
                .text
                .get(at..span.start)
                .ok_or_else(|| SchemaError::Rewrite {
                    message: format!("edit {span:?} is outside the text or splits a character"),
                })?;
            out.push_str(keep);
            out.push_str(with);
            at = span.end;
        }
        let rest = self.text.get(at..).ok_or_else(|| SchemaError::Rewrite {
            message: format!("an edit ends at {at}, outside the text"),
        })?;
        out.push_str(rest);
        Ok(out)
    }
}

/// Rewrites the guards of `text` for a target: a guard the target executes
/// is unwrapped (its content stays, the comment markers go), one it does not
/// execute is removed. Used where the text is shown or parsed by something
/// that does not know guards; DDL sent to a server keeps its guards.
///
/// # Errors
///
/// As [`tokenize`].
pub fn resolve_guards(text: &str, target: &ServerVersion) -> Result<String, SchemaError> {
    let toks = tokenize(text)?;
    let mut rw = Rewriter::new(text);
    for g in &toks.guards {
        if g.executes_on(target) {
            let content = text.get(g.content.clone()).unwrap_or_default();
            rw.replace(g.span.clone(), format!(" {} ", content.trim()));
        } else {
            rw.replace(g.span.clone(), " ");
        }
    }
    rw.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts(t: &Tokens, sql: &str) -> Vec<String> {
        t.toks
            .iter()
            .map(|t| sql[t.span.clone()].to_string())
            .collect()
    }

    #[test]
    fn spans_are_bytes_even_after_unicode() {
        let sql = "CREATE TABLE `tä b` (\n  `ö``x` int COMMENT 'é''z'\n)";
        let t = tokenize(sql).unwrap();
        assert_eq!(
            texts(&t, sql),
            ["CREATE", "TABLE", "`tä b`", "(", "`ö``x`", "int", "COMMENT", "'é''z'", ")"]
        );
        assert_eq!(t.toks[4].ident(), Some("ö`x"));
    }

    #[test]
    fn guards_are_split_out_with_exact_inner_spans() {
        let sql = "CREATE /*!50013 DEFINER=`a`@`%` SQL SECURITY DEFINER */ VIEW v /*M!100301 x */";
        let t = tokenize(sql).unwrap();
        assert_eq!(t.guards.len(), 2);
        assert_eq!(t.guards[0].version, Some(50013));
        assert!(t.guards[1].mariadb_only);
        let inner: Vec<_> = t.toks.iter().filter(|t| t.guard == Some(0)).collect();
        assert_eq!(&sql[inner[0].span.clone()], "DEFINER");
        assert_eq!(&sql[inner.last().unwrap().span.clone()], "DEFINER");
        let my8 = ServerVersion::parse("8.0.36").unwrap();
        let maria = ServerVersion::parse("10.11.6-MariaDB").unwrap();
        assert!(!t.guards[1].executes_on(&my8));
        assert!(t.guards[1].executes_on(&maria));
        let old = ServerVersion::parse("5.0.1").unwrap();
        assert_eq!(t.live(&old).len(), 3);
        assert_eq!(
            resolve_guards(sql, &my8).unwrap(),
            "CREATE  DEFINER=`a`@`%` SQL SECURITY DEFINER  VIEW v  "
        );
    }

    #[test]
    fn mariadb_ignores_mysql_guards_from_5_7_to_9_x() {
        // What MariaDB's own test suite checks (main/comments.test,
        // MDEV-5009), and what MySQL does with the same guards.
        let sql = "SELECT 1 /*!50699 a */ /*!50700 b */ /*!80023 c */ /*!99999 d */ \
                   /*!100000 e */ /*M!50700 f */ /*M!99999 g */ /*! h */ /*!40100 i */";
        let t = tokenize(sql).unwrap();
        let run = |v: &str| {
            let v = ServerVersion::parse(v).unwrap();
            t.live(&v)
                .iter()
                .filter(|t| t.guard.is_some())
                .map(|t| sql[t.span.clone()].to_string())
                .collect::<Vec<_>>()
                .join("")
        };
        assert_eq!(run("10.3.39-MariaDB"), "aefghi");
        assert_eq!(run("11.4.2-MariaDB"), "aefghi");
        assert_eq!(run("8.0.36"), "abchi");
        assert_eq!(run("8.0.22"), "abhi");
        assert_eq!(run("9.1.0"), "abchi");
        assert_eq!(run("5.7.44"), "abhi");
    }

    #[test]
    fn rewriter_refuses_overlaps() {
        let mut rw = Rewriter::new("abcdef");
        rw.replace(1..3, "X");
        rw.replace(2..4, "Y");
        assert!(rw.finish().is_err());
        let mut rw = Rewriter::new("abcdef");
        rw.insert(0, "<");
        rw.replace(1..3, "X");
        rw.insert(6, ">");
        assert_eq!(rw.finish().unwrap(), "<aXdef>");
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(tokenize("SELECT 'abc").is_err());
        assert!(tokenize("SELECT `abc").is_err());
        assert!(tokenize("/* x").is_err());
    }

    proptest! {
        // Token-level rewrites never change a byte outside the edited spans.
        #[test]
        fn rewrites_keep_every_other_byte(
            sql in "[a-zA-Z0-9 ,()`'é_\n]{0,80}",
            picks in proptest::collection::vec((any::<prop::sample::Index>(), "[a-z`]{0,5}"), 0..6),
        ) {
            let Ok(t) = tokenize(&sql) else { return Ok(()); };
            if t.toks.is_empty() { return Ok(()); }
            let mut chosen: Vec<(usize, String)> = picks
                .iter()
                .map(|(i, s)| (i.index(t.toks.len()), s.clone()))
                .collect();
            chosen.sort();
            chosen.dedup_by_key(|(i, _)| *i);
            let mut rw = Rewriter::new(&sql);
            for (i, s) in &chosen {
                rw.replace(t.toks[*i].span.clone(), s.clone());
            }
            let out = rw.finish().unwrap();
            // Rebuild the expected text from the untouched gaps and the
            // replacements, and compare.
            let mut expected = String::new();
            let mut at = 0;
            for (i, s) in &chosen {
                let span = t.toks[*i].span.clone();
                expected.push_str(&sql[at..span.start]);
                expected.push_str(s);
                at = span.end;
            }
            expected.push_str(&sql[at..]);
            prop_assert_eq!(out, expected);
        }

        // Token spans cover exactly the token's bytes: re-joining the gaps
        // and the spans gives the text back.
        #[test]
        fn spans_tile_the_text(sql in "[a-zA-Z0-9 ,.;()`'\"é中_\n\t*/!-]{0,80}") {
            if let Ok(t) = tokenize(&sql) {
                let mut at = 0;
                for tok in t.toks.iter().filter(|t| t.guard.is_none()) {
                    prop_assert!(tok.span.start >= at);
                    prop_assert!(sql.get(tok.span.clone()).is_some());
                    at = tok.span.end;
                }
            }
        }
    }
}
