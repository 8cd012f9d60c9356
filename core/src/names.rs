//! OpenWhisk's entity name rules (openwhisk-api.md §1.4), applied at read time so that a
//! name the controller would refuse — or, worse, one that changes the request's path, such
//! as `..` or `a/b` — never reaches a request.
//!
//! The controller's rule, `\A([\w]|[\w][\w@ .&-]{0,254}[\w@.&-])\z`: the first character
//! is a letter, a digit or `_`; the others are letters, digits, `_`, `@`, space, `.`, `&`
//! or `-`; the last one is not a space; at most 256 characters. `\w` is Scala's (Java's)
//! ASCII word class, so non-ASCII letters are refused too. The same rule holds for
//! packages, actions, triggers and rules, and `default` is a reserved package name (sluice's
//! own name for the functions outside any package, so it never reaches the controller).

/// The longest name the controller accepts, in characters.
pub const MAX_NAME_LEN: usize = 256;

/// The rule, in words, for error messages and the book.
pub const NAME_RULE: &str = "a name starts with a letter, a digit or '_', continues with letters, digits, '_', '@', '.', '&', '-' or spaces, does not end with a space, and has at most 256 characters";

/// Why a name breaks the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("the name is {len} characters long (at most {MAX_NAME_LEN})")]
    TooLong { len: usize },
    #[error("the name may not start with {}", describe(*.0))]
    BadFirst(char),
    #[error("the name may not contain {}", describe(*.0))]
    BadChar(char),
    #[error("the name may not end with a space")]
    TrailingSpace,
}

fn describe(c: char) -> String {
    match c {
        '/' => "'/' (packages do not nest; put the function in a package of its own)".to_string(),
        ' ' => "a space".to_string(),
        c if c.is_control() || c == char::REPLACEMENT_CHARACTER => {
            format!("the character {}", c.escape_unicode())
        }
        c => format!("'{c}'"),
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Checks one entity name (a package, function, trigger or rule) against the rule.
pub fn check_name(name: &str) -> Result<(), NameError> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err(NameError::Empty);
    };
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return Err(NameError::TooLong { len });
    }
    if !is_word(first) {
        return Err(NameError::BadFirst(first));
    }
    if let Some(bad) = chars.find(|&c| !(is_word(c) || matches!(c, '@' | ' ' | '.' | '&' | '-'))) {
        return Err(NameError::BadChar(bad));
    }
    if name.ends_with(' ') {
        return Err(NameError::TrailingSpace);
    }
    Ok(())
}

/// Text of a file name that may not be UTF-8, with the bytes that are not escaped as
/// `\xNN` (never replaced by U+FFFD, so two different names never look the same).
pub fn escaped_os_name(name: &std::ffi::OsStr) -> String {
    if let Some(text) = name.to_str() {
        return text.to_string();
    }
    escaped_bytes(name.as_encoded_bytes())
}

/// Bytes as text, with what is not UTF-8 escaped as `\xNN`.
pub fn escaped_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_controller_accepts() {
        for ok in [
            "a",
            "_",
            "9",
            "hello-world",
            "a.b",
            "a b",
            "a@b&c",
            "x.",
            "x-",
        ] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_name(&"a".repeat(256)), Ok(()));
    }

    #[test]
    fn names_the_controller_refuses() {
        assert_eq!(check_name(""), Err(NameError::Empty));
        assert_eq!(check_name(".."), Err(NameError::BadFirst('.')));
        assert_eq!(check_name("-a"), Err(NameError::BadFirst('-')));
        assert_eq!(check_name("a/b"), Err(NameError::BadChar('/')));
        assert_eq!(check_name("a?b"), Err(NameError::BadChar('?')));
        assert_eq!(check_name("é"), Err(NameError::BadFirst('é')));
        assert_eq!(check_name("a "), Err(NameError::TrailingSpace));
        assert_eq!(
            check_name(&"a".repeat(257)),
            Err(NameError::TooLong { len: 257 })
        );
        let slash = check_name("a/b").expect_err("a slash is refused");
        assert!(slash.to_string().contains("packages do not nest"));
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_are_escaped_not_replaced() {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"f\xff\xfe.js");
        assert_eq!(escaped_os_name(name), "f\\xFF\\xFE.js");
    }
}
