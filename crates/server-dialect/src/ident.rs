//! Identifier quoting: the one place names are put into SQL text.
//!
//! Every server flavour and version takes a backtick-quoted identifier with
//! doubled backticks inside, whatever `sql_mode` says (`ANSI_QUOTES` only
//! adds double quotes), so there is no dialect choice here.

/// Quotes an identifier with backticks, doubling any backtick inside it.
///
/// ```
/// assert_eq!(server_dialect::quote("a`b"), "`a``b`");
/// ```
pub fn quote(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('`');
    for c in name.chars() {
        if c == '`' {
            s.push('`');
        }
        s.push(c);
    }
    s.push('`');
    s
}

/// `db`.`name`, each part quoted.
///
/// ```
/// assert_eq!(server_dialect::quote_qualified("d", "t`"), "`d`.`t```");
/// ```
pub fn quote_qualified(db: &str, name: &str) -> String {
    format!("{}.{}", quote(db), quote(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_every_backtick_and_nothing_else() {
        assert_eq!(quote(""), "``");
        assert_eq!(quote("t"), "`t`");
        assert_eq!(quote("``"), "``````");
        assert_eq!(quote("a.b 'c\" ü"), "`a.b 'c\" ü`");
        assert_eq!(quote_qualified("a`", "`b"), "`a```.```b`");
    }
}
