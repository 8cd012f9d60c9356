//! The `sluice` command line. Thin by design: each command parses its flags into options,
//! calls the engine and plugins, and renders the result. No deploy logic lives here.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    cli::main()
}

/// `sluice functions get X --json | head -c 10`: when the reader goes away, `println!`
/// panics with "failed printing to stdout: Broken pipe". Other CLIs die of SIGPIPE there, so
/// sluice exits as quietly, with the shell's status for SIGPIPE (128 + 13), instead of a
/// panic message and a backtrace. Every other panic is reported as before.
fn quiet_on_closed_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        report(info);
    }));
}
