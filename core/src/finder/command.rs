//! Running a build subprocess with the original deployer's reporting (spec §7.4), shared by
//! the script and npm builders so both report identically.
//!
//! The command line is handed to a shell (`$shell`, else `/bin/bash`; `cmd /C` on Windows)
//! in the build directory, with the process environment plus `--build-env` entries (which
//! win). Output is collected and only shown when the build fails, unless `--verbose-build`
//! asks for it live (stdout as progress, stderr as warnings), one whole line at a time so
//! parallel builds stay readable.
//!
//! Every command runs in a process group of its own ([`super::process_group`]), so a
//! timeout (`--build-timeout`, 15 minutes by default) or a Ctrl-C of sluice stops the
//! command and everything it started. A failed build's output is bounded in messages (its
//! first and last lines); when lines are left out, the whole log is written to a file and
//! the message says where.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::process_group::{self, Registered};
use crate::error::{Error, Result};
use crate::plugin::BuildContext;

/// Lines of a failed build's output shown from its start, and from its end.
const HEAD_LINES: usize = 30;
const TAIL_LINES: usize = 30;

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
    process_group::own_group(&mut command);
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
    let registered = Registered::new(&child);

    let (tx, rx) = mpsc::channel::<Chunk>();
    let start = Instant::now();
    let limit = process_group::build_timeout();
    let deadline = start + limit;
    let mut collected: Vec<u8> = Vec::new();
    // Detached readers: a process that escaped the group may hold the pipe open for ever,
    // and the build must still end at its deadline.
    for (is_stderr, mut input) in readers {
        let tx = tx.clone();
        std::thread::spawn(move || {
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
    let status = {
        let mut last_notice = start;
        let (mut out_buf, mut err_buf) = (Vec::new(), Vec::new());
        let mut timed_out = false;
        loop {
            let chunk = match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(chunk) => chunk,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    timed_out = true;
                    break;
                }
            };
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
        match timed_out {
            true => None,
            false => wait_until(&mut child, deadline),
        }
    };
    let Some(status) = status else {
        process_group::stop(&mut child);
        drop(registered);
        return Err(Error::Build {
            entity: cmd.entity.to_string(),
            message: format!(
                "'{}' did not finish within {} and was stopped (with every process it started); raise the limit with --build-timeout",
                cmd.command_line,
                process_group::describe(limit)
            ),
            output: None,
        });
    };
    drop(registered);
    process_group::wait_if_stopping();
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
    let output = bounded(&String::from_utf8_lossy(&collected), cmd.entity);
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

/// Waits for the child until `deadline`; `None` when it is still running then.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<std::io::Result<ExitStatus>> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(Ok(status)),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Some(Err(e)),
        }
    }
}

/// The output as messages show it: whole when short, else its first [`HEAD_LINES`] and last
/// [`TAIL_LINES`] lines around a note that says how many were left out and which file holds
/// them all.
fn bounded(output: &str, entity: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    if lines.len() <= HEAD_LINES + TAIL_LINES {
        return output.to_string();
    }
    let left_out = lines.len() - HEAD_LINES - TAIL_LINES;
    let note = match write_log(output, entity) {
        Ok(path) => format!(
            "… {left_out} lines not shown; the full log is in {}",
            path.display()
        ),
        Err(e) => format!("… {left_out} lines not shown (the full log could not be written: {e})"),
    };
    let mut shown: Vec<&str> = lines[..HEAD_LINES].to_vec();
    shown.push(&note);
    shown.extend_from_slice(&lines[lines.len() - TAIL_LINES..]);
    shown.join("\n")
}

/// Writes a build's whole output to `<temp>/sluice-build-logs/<entity>-<pid>-<n>.log`.
fn write_log(output: &str, entity: &str) -> std::io::Result<PathBuf> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join("sluice-build-logs");
    std::fs::create_dir_all(&dir)?;
    let safe: String = entity
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!(
        "{}-{}-{}.log",
        safe.trim_matches('_'),
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, output)?;
    Ok(path)
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
    fn long_output_keeps_its_head_and_tail_and_names_the_full_log() -> std::io::Result<()> {
        let short = "a\nb\n";
        assert_eq!(bounded(short, "lib"), short);
        let long: String = (0..500).map(|i| format!("line {i}\n")).collect();
        let shown = bounded(&long, "action 'p/a'");
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), HEAD_LINES + TAIL_LINES + 1);
        assert_eq!(lines[0], "line 0");
        assert_eq!(lines[lines.len() - 1], "line 499");
        let note = lines[HEAD_LINES];
        let path = note
            .split_once("the full log is in ")
            .map(|(_, p)| PathBuf::from(p))
            .expect("the note names the log");
        assert!(note.starts_with("… 440 lines not shown"), "{note}");
        assert_eq!(std::fs::read_to_string(&path)?, long);
        std::fs::remove_file(path)
    }

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
