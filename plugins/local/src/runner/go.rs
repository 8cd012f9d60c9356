//! Go functions on the local runner: the host's `go` compiles, offline, once per code digest.
//!
//! An action's code directory ends up with an executable `exec` that speaks OpenWhisk's
//! action-loop protocol, as the Go runtime's own: a precompiled `exec` at the root of a zip
//! (what `localBuild` deploys) is used as it is; Go sources (`package main` at the root, with
//! `func Main(map[string]interface{}) map[string]interface{}` or the capitalised `main:`, an
//! optional `go.mod` and `vendor/`) are compiled with the entry point in
//! `launchers/go/entry.go.txt` unless they bring their own `func main()`. The compiled
//! launcher (`launchers/go/proxy.go`) bridges that protocol to sluice's.
//!
//! No network: `GOPROXY=off` and `GOFLAGS=-mod=vendor` when a `vendor/` exists, so a build
//! needing a module download fails with a message that says to vendor it.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::code::CodeError;

const PROXY_SOURCE: &str = include_str!("../../launchers/go/proxy.go");
const ENTRY_TEMPLATE: &str = include_str!("../../launchers/go/entry.go.txt");
/// The file the entry point is written to.
const ENTRY_FILE: &str = "sluice_entry__.go";
/// The `go.mod` written for sources without one.
const DEFAULT_GO_MOD: &str = "module action\n\ngo 1.19\n";

/// The launcher's source (digested to name its cache directory).
pub fn proxy_source() -> &'static str {
    PROXY_SOURCE
}

/// Compiles the launcher into `dir/sluice-go-launcher` (`dir` is new and private).
pub fn build_proxy(go: &Path, cache_dir: &Path, dir: &Path) -> Result<PathBuf, CodeError> {
    let source = dir.join("proxy.go");
    std::fs::write(&source, PROXY_SOURCE).map_err(|e| CodeError::Io {
        path: source.clone(),
        source: e,
    })?;
    let out = dir.join("sluice-go-launcher");
    let mut cmd = go_command(go, cache_dir, dir);
    cmd.args(["build", "-o"]).arg(&out).arg(&source);
    run_go(cmd, go, dir)?;
    Ok(out)
}

/// Makes `dir` (the action's freshly unpacked code) hold an executable `exec`: kept when the
/// code is precompiled, else compiled from the Go sources at its root.
pub fn prepare(
    go: &Path,
    cache_dir: &Path,
    dir: &Path,
    main: Option<&str>,
) -> Result<(), CodeError> {
    let sources = root_sources(dir)?;
    let exec = dir.join("exec");
    if sources.is_empty() {
        if exec.is_file() {
            return make_executable(&exec);
        }
        return Err(CodeError::Go(
            "the action has neither an executable named 'exec' nor Go sources (.go files) at \
             the root of its code; put `package main` sources there, or deploy a zip whose \
             root holds the compiled 'exec'"
                .to_string(),
        ));
    }
    if !sources.iter().any(|(_, text)| declares_package_main(text)) {
        let names: Vec<&str> = sources.iter().map(|(n, _)| n.as_str()).collect();
        return Err(CodeError::Go(format!(
            "no Go file at the root of the action's code is `package main` ({}); the local \
             runner compiles the root package as the action, so declare `package main` there \
             and put other packages in sub-directories of the module",
            names.join(", ")
        )));
    }
    if !sources.iter().any(|(_, text)| declares_func_main(text)) {
        let entry = ENTRY_TEMPLATE.replace("SLUICE_ENTRY", &entry_function(main));
        write(&dir.join(ENTRY_FILE), &entry)?;
    }
    if !dir.join("go.mod").is_file() {
        write(&dir.join("go.mod"), DEFAULT_GO_MOD)?;
    }
    let mut cmd = go_command(go, cache_dir, dir);
    cmd.arg("build");
    if dir.join("vendor").join("modules.txt").is_file() {
        cmd.arg("-mod=vendor");
    }
    cmd.args(["-o", "exec", "."]);
    run_go(cmd, go, dir)?;
    make_executable(&exec)
}

/// The Go function the entry point calls: `main:` capitalised (exported), `Main` by default.
pub fn entry_function(main: Option<&str>) -> String {
    let main = main.filter(|m| !m.is_empty()).unwrap_or("main");
    let mut chars = main.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Main".to_string(),
    }
}

fn go_command(go: &Path, cache_dir: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(go);
    cmd.current_dir(dir).env_clear();
    for key in ["PATH", "HOME", "TMPDIR", "LANG"] {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    let go_dir = cache_dir.join("go");
    cmd.env("GOCACHE", go_dir.join("build-cache"))
        .env("GOPATH", go_dir.join("path"))
        .env("GOPROXY", "off")
        .env("GOSUMDB", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOWORK", "off")
        .env("GOFLAGS", "-buildvcs=false")
        .env("CGO_ENABLED", "0");
    cmd
}

fn run_go(mut cmd: Command, go: &Path, dir: &Path) -> Result<(), CodeError> {
    let output = cmd.output().map_err(|source| CodeError::GoMissing {
        program: go.to_path_buf(),
        source,
    })?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).trim().to_string();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !stdout.trim().is_empty() {
        text = format!("{}\n{text}", stdout.trim());
    }
    let dir_text = dir.display().to_string();
    let text = text
        .replace(&format!("{dir_text}/"), "")
        .replace(&dir_text, ".");
    let offline = text.contains("GOPROXY=off")
        || text.contains("module lookup disabled")
        || text.contains("cannot find module")
        || text.contains("no required module provides")
        || text.contains("missing go.sum entry");
    let hint = if offline {
        "\nThe local runner builds offline: vendor the dependencies (`go mod vendor`, and \
         include the vendor/ directory in the function) or use the standard library only."
    } else {
        ""
    };
    Err(CodeError::GoBuild(format!("{text}{hint}")))
}

fn root_sources(dir: &Path) -> Result<Vec<(String, String)>, CodeError> {
    let entries = std::fs::read_dir(dir).map_err(|e| CodeError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.ends_with(".go") || name.ends_with("_test.go") || !entry.path().is_file() {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        out.push((name, text));
    }
    out.sort();
    Ok(out)
}

fn declares_package_main(text: &str) -> bool {
    code_lines(text).any(|l| l == "package main" || l.starts_with("package main "))
}

fn declares_func_main(text: &str) -> bool {
    code_lines(text).any(|l| l.starts_with("func main()"))
}

fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
}

fn write(path: &Path, text: &str) -> Result<(), CodeError> {
    std::fs::write(path, text).map_err(|source| CodeError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), CodeError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(|source| {
        CodeError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<(), CodeError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_and_package_detection() {
        assert_eq!(entry_function(None), "Main");
        assert_eq!(entry_function(Some("hello")), "Hello");
        assert!(declares_package_main(
            "// x\npackage main\n\nfunc Main() {}"
        ));
        assert!(!declares_package_main("package hello\n"));
        assert!(declares_func_main("package main\nfunc main() {\n}"));
        assert!(!declares_func_main("package main\n// func main() {}\n"));
    }
}
