//! Entity name rules (openwhisk-api.md §1.4) and the strict base64 test that decides
//! `exec.binary` (§3.2). Written by hand: each is a one-line grammar and pulling in a regex
//! engine for two patterns is not worth it.

use crate::http_error::ApiError;

/// Longest name segment the controller accepts.
pub const MAX_NAME: usize = 256;

fn word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// True if `name` matches `\A([\w]|[\w][\w@ .&-]{0,254}[\w@.&-])\z`.
pub fn is_valid_name(name: &str) -> bool {
    let chars: Vec<char> = name.chars().collect();
    let Some((&first, rest)) = chars.split_first() else {
        return false;
    };
    if !word(first) || chars.len() > MAX_NAME {
        return false;
    }
    let Some((&last, middle)) = rest.split_last() else {
        return true;
    };
    middle
        .iter()
        .all(|&c| word(c) || matches!(c, '@' | ' ' | '.' | '&' | '-'))
        && (word(last) || matches!(last, '@' | '.' | '&' | '-'))
}

fn check(name: &str, illegal: &str) -> Result<(), ApiError> {
    let len = name.chars().count();
    if len > MAX_NAME {
        return Err(ApiError::bad_request(format!(
            "Name segement longer than allowed: {len} > {MAX_NAME}."
        )));
    }
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(ApiError::bad_request(illegal))
    }
}

/// 400 unless `name` is a valid entity name.
pub fn check_entity(name: &str) -> Result<(), ApiError> {
    check(name, "The name of the entity contains illegal characters.")
}

/// 400 unless `name` is a valid namespace name.
pub fn check_namespace(name: &str) -> Result<(), ApiError> {
    check(name, "The namespace contains illegal characters.")
}

/// The server's `binary` rule: trimmed code non-empty, length a multiple of 4, and strict
/// base64 (`^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)$`).
pub fn is_base64(code: &str) -> bool {
    let s = code.trim().as_bytes();
    if s.is_empty() || !s.len().is_multiple_of(4) {
        return false;
    }
    let alpha = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let (body, tail) = s.split_at(s.len() - 4);
    body.iter().all(|&b| alpha(b))
        && match tail {
            [a, b, b'=', b'='] => alpha(*a) && alpha(*b),
            [a, b, c, b'='] => alpha(*a) && alpha(*b) && alpha(*c),
            t => t.iter().all(|&b| alpha(b)),
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_controller_regex() {
        for ok in ["a", "_", "hello", "a b", "x@y.z&w-v", "9", "a-", "a."] {
            assert!(is_valid_name(ok), "{ok} should be valid");
        }
        for bad in ["", " a", "a ", "-a", "a/b", "a$", ".a", "é$"] {
            assert!(!is_valid_name(bad), "{bad} should be invalid");
        }
        assert!(is_valid_name(&"a".repeat(256)));
        assert!(!is_valid_name(&"a".repeat(257)));
        assert!(check_entity(&"a".repeat(300)).is_err());
    }

    #[test]
    fn base64_is_strict() {
        assert!(is_base64("UEsDBA=="));
        assert!(is_base64("abcd"));
        assert!(is_base64(" YWJj\n"));
        assert!(!is_base64("abc"));
        assert!(!is_base64("function main() {}"));
        assert!(!is_base64("ab=c"));
        assert!(!is_base64(""));
        // The classic false positive of the rule: a four-letter word.
        assert!(is_base64("main"));
    }
}
