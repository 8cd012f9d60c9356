//! How errors and progress look to a person: errors through miette (message, file and line
//! with the source snippet where there is one, a help line), progress as plain lines; and
//! [`OutputArgs`], the one `-o/--output text|json` / `--json` flag pair every command that
//! prints data flattens.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};
use sluice_core::{Error, Feedback};

/// An error as the CLI shows it. Boxed, so `Result<_, CliError>` stays small.
#[derive(Debug)]
pub struct CliError(Box<Details>);

#[derive(Debug)]
struct Details {
    message: String,
    help: Option<String>,
    /// The file the error is about, with its text and the span to point at.
    source: Option<(NamedSource<String>, SourceSpan)>,
    label: Option<String>,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for CliError {}

impl Diagnostic for CliError {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.0
            .source
            .as_ref()
            .map(|(s, _)| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (_, span) = self.0.source.as_ref()?;
        let label = LabeledSpan::new_with_span(self.0.label.clone(), *span);
        Some(Box::new(std::iter::once(label)))
    }
}

impl CliError {
    /// An error with just a message.
    pub fn msg(message: impl Into<String>) -> Self {
        CliError(Box::new(Details {
            message: message.into(),
            help: None,
            source: None,
            label: None,
        }))
    }

    /// Any displayable error.
    pub fn other(e: impl fmt::Display) -> Self {
        Self::msg(e.to_string())
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.0.help = Some(help.into());
        self
    }

    /// The help line, if any.
    pub fn help(&self) -> Option<&str> {
        self.0.help.as_deref()
    }

    /// The error as a core credentials error (message and help kept), for errors that must
    /// cross into an op, such as those of resolving the target.
    pub fn into_core(self) -> Error {
        Error::Credentials {
            message: self.0.message,
            help: self.0.help,
        }
    }

    /// Converts a core error, pointing at the file and line it names when `base` (the
    /// project directory) lets us find the file.
    pub fn from_core(e: &Error, base: Option<&std::path::Path>) -> Self {
        let mut out = Details {
            message: e.to_string(),
            help: e.help(),
            source: None,
            label: None,
        };
        if let (Some(file), Some(line)) = (e.file(), e.line()) {
            let path = match base {
                Some(b) if !PathBuf::from(&file).is_absolute() => b.join(&file),
                _ => PathBuf::from(&file),
            };
            if let Ok(text) = std::fs::read_to_string(&path) {
                let offset: usize = text
                    .lines()
                    .take(line.saturating_sub(1))
                    .map(|l| l.len() + 1)
                    .sum();
                let len = text.lines().nth(line.saturating_sub(1)).map_or(0, str::len);
                out.label = Some(format!("line {line}"));
                // A snippet of a huge line (a megabyte of `[`) helps no one and takes seconds
                // to draw: the message names the line alone then.
                out.source = (len <= MAX_SNIPPET_LINE).then_some((
                    NamedSource::new(file, text),
                    SourceSpan::new(offset.into(), len),
                ));
                if out.source.is_none() {
                    out.message = format!("{} (line {line})", out.message);
                }
            }
        }
        CliError(Box::new(out))
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::from_core(&e, None)
    }
}

/// The longest source line an error shows as a snippet, in bytes.
const MAX_SNIPPET_LINE: usize = 400;

/// Prints an error on stderr with miette's graphical handler (formatted first and written
/// at once: stderr is unbuffered, and miette writes a character at a time).
pub fn print_error(e: CliError) {
    let report = miette::Report::new(e);
    let text = format!("{report:?}\n");
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Progress and warnings as plain lines on stdout (as the original deployer prints them).
#[derive(Debug, Default)]
pub struct ConsoleFeedback {
    /// Suppress progress (warnings still show).
    pub quiet: bool,
}

impl Feedback for ConsoleFeedback {
    fn progress(&self, message: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stdout(), "{message}");
        }
    }

    fn warn(&self, message: &str) {
        let _ = writeln!(std::io::stdout(), "{message}");
    }
}

/// Progress and warnings on stderr, for commands whose stdout is data (JSON).
#[derive(Debug, Default)]
pub struct StderrFeedback;

impl Feedback for StderrFeedback {
    fn progress(&self, _message: &str) {}

    fn warn(&self, message: &str) {
        let _ = writeln!(std::io::stderr(), "{message}");
    }
}

/// Prints a value as pretty JSON (activation records as the namespace sent them).
pub fn print_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<(), CliError> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).map_err(CliError::other)?
    );
    Ok(())
}

/// How a command prints its data: `-o/--output text|json` (doctl's flag) or `--json`
/// (the original deployer's), flattened into every command that prints data.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct OutputArgs {
    /// Print JSON (the same as `-o json`)
    #[arg(long, conflicts_with = "output")]
    json: bool,
    /// Output format
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT")]
    output: Option<Format>,
}

/// The output formats of `-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people: tables and sentences
    Text,
    /// For programs: JSON on stdout
    Json,
}

impl OutputArgs {
    /// Whether the command prints JSON.
    pub fn json(&self) -> bool {
        self.json || self.output == Some(Format::Json)
    }
}
