//! Running a build subprocess with the original deployer's reporting (spec §7.4), shared by
//! the script and npm builders so both report identically.
//!
//! The command line is handed to a shell (`$shell`, else `/bin/bash`; `cmd /C` on Windows)
//! in the build directory, with the process environment plus `--build-env` entries (which
//! win). Output is collected and only shown when the build fails, unless `--verbose-build`
//! asks for it live (stdout as progress, stderr as warnings), one whole line at a time so
//! parallel builds stay readable.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::plugin::BuildContext;

/// How often a silent-but-running build says it is still running (only when output arrives).
const STILL_RUNNING_EVERY: Duration = Duration::from_secs(5);

/// One build command and how to talk about it.
#[derive(Debug, Clone)]
pub struct BuildCommand<'a> {
    /// The command line given to the shell (`./build.sh`, `npm install --production`).
    pub command_line: &'a str,
    /// How progress messages name it (usually the same as `command_line`).
    pub info: &'a str,
    /// How the failure message names it (`./build.sh`, `npm install`).
    pub error_tag: &'a str,
    /// The directory to run in (absolute).
    pub dir: &'a Path,
    /// `<best project name>/packages/p/a` or `<best project name>/lib`.
    pub display_path: &'a str,
    /// `action 'pkg/name'` or `lib`, for the error.
    pub entity: &'a str,
}

enum Chunk {
    Out(Vec<u8>),
    Err(Vec<u8>),
}

/// The shell that runs build commands: `$shell` (as the original reads it), else `/bin/bash`.
fn shell_command(line: &str) -> Command {
    if cfg!(windows) {
        let mut c = Command::new("cmd");
        c.arg("/C").arg(line);
        c
    } else {
        let shell = std::env::var("shell")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/bash".to_string());
        let mut c = Command::new(shell);
        c.arg("-c").arg(line);
        c
    }
}

/// Splits accumulated bytes into complete lines, keeping the unfinished tail.
fn take_lines(buffer: &mut Vec<u8>) -> Vec<String> {
    let mut lines = Vec::new();
    while let Some(pos) = buffer.iter().position(|b| *b == b'\n') {
        let line: Vec<u8> = buffer.drain(..=pos).collect();
        lines.push(
            String::from_utf8_lossy(&line[..line.len() - 1])
                .trim_end_matches('\r')
                .to_string(),
        );
    }
    lines
}

/// Runs the command and reports as spec §7.4 says. `Ok` when it exits with status 0.
pub fn run_build_command(cmd: &BuildCommand<'_>, ctx: &BuildContext) -> Result<()> {
    let feedback = &ctx.feedback;
    let verbose = ctx.flags.verbose_build;
    feedback.progress(&format!(
        "Started running {} in {}",
        cmd.info, cmd.display_path
    ));

    let spawn_error = |e: std::io::Error| Error::Build {
        entity: cmd.entity.to_string(),
        message: format!(
            "could not run '{}' in {}: {e}",
            cmd.command_line,
            cmd.dir.display()
        ),
        output: None,
    };
    let mut command = shell_command(cmd.command_line);
    command
        .current_dir(cmd.dir)
        .envs(&ctx.build_env)
        .stdin(Stdio::null());
    // Collected output shares one pipe for stdout and stderr, so it keeps the order in which
    // the build wrote it; streamed (verbose) output needs the two apart.
    let (mut child, readers) = if verbose {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().map_err(spawn_error)?;
        let mut readers: Vec<(bool, Box<dyn Read + Send>)> = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push((false, Box::new(out)));
        }
        if let Some(err) = child.stderr.take() {
            readers.push((true, Box::new(err)));
        }
        (child, readers)
    } else {
        let (reader, writer) = std::io::pipe().map_err(spawn_error)?;
        let writer_for_stderr = writer.try_clone().map_err(spawn_error)?;
        command.stdout(writer).stderr(writer_for_stderr);
        let child = command.spawn().map_err(spawn_error)?;
        let readers: Vec<(bool, Box<dyn Read + Send>)> = vec![(false, Box::new(reader))];
        (child, readers)
    };
    // Our copies of the pipe's write end must close, or the reader never sees the end.
    drop(command);

    let (tx, rx) = mpsc::channel::<Chunk>();
    let start = Instant::now();
    let mut collected: Vec<u8> = Vec::new();
    let status = std::thread::scope(|scope| {
        for (is_stderr, mut input) in readers {
            let tx = tx.clone();
            scope.spawn(move || {
                pump(&mut input, |b| {
                    let chunk = if is_stderr {
                        Chunk::Err(b)
                    } else {
                        Chunk::Out(b)
                    };
                    tx.send(chunk).is_ok()
                })
            });
        }
        drop(tx);
        let mut last_notice = start;
        let (mut out_buf, mut err_buf) = (Vec::new(), Vec::new());
        for chunk in rx {
            match chunk {
                Chunk::Out(bytes) if verbose => {
                    out_buf.extend_from_slice(&bytes);
                    take_lines(&mut out_buf)
                        .iter()
                        .for_each(|l| feedback.progress(l));
                }
                Chunk::Err(bytes) if verbose => {
                    err_buf.extend_from_slice(&bytes);
                    take_lines(&mut err_buf)
                        .iter()
                        .for_each(|l| feedback.warn(l));
                }
                Chunk::Out(bytes) | Chunk::Err(bytes) => {
                    collected.extend_from_slice(&bytes);
                    if last_notice.elapsed() > STILL_RUNNING_EVERY {
                        last_notice = Instant::now();
                        feedback.progress(&format!(
                            "Still running {} in {}",
                            cmd.info, cmd.display_path
                        ));
                    }
                }
            }
        }
        if !out_buf.is_empty() {
            feedback.progress(String::from_utf8_lossy(&out_buf).trim_end());
        }
        if !err_buf.is_empty() {
            feedback.warn(String::from_utf8_lossy(&err_buf).trim_end());
        }
        child.wait()
    });
    let status = status.map_err(|e| Error::Build {
        entity: cmd.entity.to_string(),
        message: format!("'{}' could not be waited for: {e}", cmd.error_tag),
        output: None,
    })?;
    if status.success() {
        feedback.progress(&format!(
            "Finished running {} in {}",
            cmd.info, cmd.display_path
        ));
        return Ok(());
    }
    let output = String::from_utf8_lossy(&collected).into_owned();
    if !verbose {
        feedback.warn(&format!("Output of failed build in {}", cmd.dir.display()));
        feedback.warn(output.trim_end());
    }
    let message = match status.code() {
        Some(code) => format!("'{}' exited with code {code}", cmd.error_tag),
        None => format!("'{}' was terminated by a signal", cmd.error_tag),
    };
    Err(Error::Build {
        entity: cmd.entity.to_string(),
        message,
        output: (!verbose).then_some(output),
    })
}

/// Reads until end of file, handing over each chunk; stops early if the receiver is gone.
fn pump(input: &mut impl Read, mut send: impl FnMut(Vec<u8>) -> bool) {
    let mut buf = [0u8; 8192];
    loop {
        match input.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if !send(buf[..n].to_vec()) {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_and_the_tail_kept() {
        let mut b = b"one\ntwo\r\nthr".to_vec();
        assert_eq!(
            take_lines(&mut b),
            vec!["one".to_string(), "two".to_string()]
        );
        assert_eq!(b, b"thr".to_vec());
    }
}
