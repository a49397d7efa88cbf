//! Identifier quoting and the name-case policy. Quoting itself lives in
//! `server-dialect` (one copy for the workspace) and is re-exported here.

use serde::{Deserialize, Serialize};

pub use server_dialect::ident::{quote, quote_qualified};

/// The name a backtick-quoted identifier stands for (doubled backticks
/// undoubled); a bare identifier is returned as it is. `None` when a quoted
/// identifier is not closed, or holds a lone backtick.
pub fn unquote(text: &str) -> Option<String> {
    let Some(inner) = text.strip_prefix('`') else {
        return Some(text.to_string());
    };
    let inner = inner.strip_suffix('`')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '`' && chars.next() != Some('`') {
            return None;
        }
        out.push(c);
    }
    Some(out)
}

/// How the names of objects created on the target are spelled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CasePolicy {
    /// As on the source.
    #[default]
    Keep,
    /// Lower case.
    Lower,
    /// Upper case.
    Upper,
}

impl CasePolicy {
    /// Applies the policy to a name.
    pub fn apply(self, name: &str) -> String {
        match self {
            CasePolicy::Keep => name.to_string(),
            CasePolicy::Lower => name.to_lowercase(),
            CasePolicy::Upper => name.to_uppercase(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::tokenize;
    use proptest::prelude::*;
    use sqlparser::tokenizer::Token;

    #[test]
    fn doubles_backticks() {
        assert_eq!(quote("a`b"), "`a``b`");
        assert_eq!(unquote("`a``b`").as_deref(), Some("a`b"));
        assert_eq!(unquote("`a`b`"), None);
        assert_eq!(unquote("`ab"), None);
        assert_eq!(CasePolicy::Upper.apply("straße"), "STRASSE");
    }

    proptest! {
        // Any name, quoted, comes back unchanged through unquote and through
        // the tokenizer the rewrites rely on, as one identifier token.
        #[test]
        fn quoting_round_trips(name in "\\PC{1,40}|[`'\" ]{1,10}") {
            let q = quote(&name);
            prop_assert_eq!(unquote(&q), Some(name.clone()));
            let sql = format!("SELECT {q} FROM {q}.{q}");
            let t = tokenize(&sql).unwrap();
            prop_assert_eq!(t.toks.len(), 6);
            for i in [1, 3, 5] {
                match &t.toks[i].token {
                    Token::Word(w) => {
                        prop_assert_eq!(&w.value, &name);
                        prop_assert_eq!(w.quote_style, Some('`'));
                    }
                    other => prop_assert!(false, "not a word: {other:?}"),
                }
                prop_assert_eq!(&sql[t.toks[i].span.clone()], q.as_str());
            }
        }
    }
}
