//! The `sluice` command line. Thin by design: each command parses its flags into options,
//! calls the engine and plugins, and renders the result. No deploy logic lives here.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
