//! Turning Lua failures into [`sluice_core::Error::Hook`] values that name the hook file, the
//! line and the event — whatever shape the failure had inside mlua.

use std::fmt;

use sluice_core::Error;

/// A failure raised on purpose by the host (`sluice.fail`, the instruction limit, a refused
/// file access), with the position of the Lua code that caused it. It travels through Lua as
/// an external error and is unwrapped again by [`to_core`].
#[derive(Debug, Clone)]
pub struct Raised {
    pub file: Option<String>,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Raised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Raised {}

/// Where a failure happened when the error itself does not say: the handler being run.
#[derive(Debug, Clone)]
pub struct Fallback<'a> {
    pub file: &'a str,
    pub line: Option<usize>,
    pub event: &'a str,
    /// The memory limit, for a readable out-of-memory message.
    pub memory_limit: usize,
}

/// Converts an mlua error raised while running hook code into the core error.
pub fn to_core(err: &mlua::Error, at: &Fallback<'_>) -> Error {
    let (file, line, message) = describe(err, at);
    Error::Hook {
        file: file.unwrap_or_else(|| at.file.to_string()),
        line: if line.is_some() { line } else { at.line },
        event: at.event.to_string(),
        message,
    }
}

fn describe(err: &mlua::Error, at: &Fallback<'_>) -> (Option<String>, Option<usize>, String) {
    match err {
        mlua::Error::CallbackError { cause, .. } => describe(cause, at),
        mlua::Error::WithContext { cause, context } => {
            let (f, l, m) = describe(cause, at);
            (f, l, format!("{context}: {m}"))
        }
        mlua::Error::ExternalError(inner) => match inner.downcast_ref::<Raised>() {
            Some(r) => (r.file.clone(), r.line, r.message.clone()),
            None => (None, None, inner.to_string()),
        },
        mlua::Error::SyntaxError { message, .. } => split_position(message),
        mlua::Error::RuntimeError(message) => split_position(message),
        mlua::Error::MemoryError(_) => (
            None,
            None,
            format!(
                "the hook ran out of memory (the limit is {} MiB); a hook that builds ever larger tables or strings is the usual cause",
                at.memory_limit / (1024 * 1024)
            ),
        ),
        mlua::Error::BadArgument {
            to,
            pos,
            name,
            cause,
        } => {
            let (f, l, m) = describe(cause, at);
            let what = match (to, name) {
                (Some(to), Some(name)) => format!("bad argument #{pos} ({name}) to {to}"),
                (Some(to), None) => format!("bad argument #{pos} to {to}"),
                _ => format!("bad argument #{pos}"),
            };
            (f, l, format!("{what}: {m}"))
        }
        other => {
            let text = other.to_string();
            split_position(&text)
        }
    }
}

/// Splits Lua's `file:line: message` (dropping any traceback) into its parts.
pub fn split_position(text: &str) -> (Option<String>, Option<usize>, String) {
    let first = text
        .split("\nstack traceback:")
        .next()
        .unwrap_or(text)
        .trim_end();
    let first = first.strip_prefix("runtime error: ").unwrap_or(first);
    let first = first.strip_prefix("syntax error: ").unwrap_or(first);
    // `file:12: message`: find the first `:<digits>: `.
    let bytes = first.as_bytes();
    let mut i = 0;
    while let Some(off) = first[i..].find(':') {
        let colon = i + off;
        let digits_end = first[colon + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(first.len(), |d| colon + 1 + d);
        if digits_end > colon + 1 && bytes.get(digits_end) == Some(&b':') {
            let file = &first[..colon];
            if let Ok(line) = first[colon + 1..digits_end].parse::<usize>()
                && !file.is_empty()
                && !file.contains('\n')
            {
                let message = first[digits_end + 1..].trim_start().to_string();
                return (Some(file.to_string()), Some(line), message);
            }
        }
        i = colon + 1;
    }
    (None, None, first.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lua_positions() {
        let (f, l, m) = split_position(
            "hooks/a.lua:12: attempt to index a nil value\nstack traceback:\n\t[C]: in ?",
        );
        assert_eq!(f.as_deref(), Some("hooks/a.lua"));
        assert_eq!(l, Some(12));
        assert_eq!(m, "attempt to index a nil value");
        let (f, l, m) = split_position("boom");
        assert_eq!((f, l, m.as_str()), (None, None, "boom"));
    }

    #[test]
    fn raised_errors_keep_their_position() {
        let raised = mlua::Error::external(Raised {
            file: Some("h.lua".into()),
            line: Some(3),
            message: "no".into(),
        });
        let at = Fallback {
            file: "other.lua",
            line: Some(1),
            event: "deploy:before",
            memory_limit: 1 << 20,
        };
        let e = to_core(&raised, &at);
        assert_eq!(e.to_string(), "hook h.lua:3 (deploy:before): no");
    }
}
