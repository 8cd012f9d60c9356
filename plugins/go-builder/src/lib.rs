//! sluice-go-builder: builds Go functions that have no build script locally, when the
//! project asks for it with `localBuild: true` (spec §6.3). Without that flag such functions
//! are planned `remote-default` and this builder does not claim them.
//!
//! A local build does what DigitalOcean's Go runtime does when it compiles sources itself:
//! the function's files (`.include` or the listing less `.ignore`) are copied to a scratch
//! directory, an action-loop entry point calling the function's `Main` (or the capitalised
//! `main:` of the function) is added unless the sources have their own `func main()`, and
//! `go build` makes a static Linux/amd64 executable named `exec`. That one file, mode 0755,
//! goes into `__deployer__.zip`, which the runtime runs as a precompiled action.

use std::path::{Path, PathBuf};

use sluice_core::finder::{self, BuildCommand, Source};
use sluice_core::runtimes::{Agreement, agree_on_runtime, family};
use sluice_core::{
    ActionSpec, Artifact, BuildContext, BuildJob, BuildStatus, BuildTarget, Builder, Detection,
    Error, Result, RuntimeTable,
};

/// The entry point added to sources without a `func main()`.
const LAUNCHER: &str = include_str!("launcher.go.txt");

/// The Go builder (name `go`).
#[derive(Debug, Default, Clone, Copy)]
pub struct GoBuilder;

/// Whether the action's runtime is in the go family: its explicit runtime, or else the one
/// its file names agree on.
fn is_go(target: &BuildTarget<'_>) -> bool {
    let explicit = target
        .action
        .and_then(|a| a.runtime.as_deref())
        .filter(|r| !r.is_empty());
    match explicit {
        Some(runtime) => family(runtime) == "go",
        None => matches!(
            agree_on_runtime(target.files.iter().map(String::as_str), &RuntimeTable::builtin()),
            Agreement::Agreed(r) if family(&r) == "go"
        ),
    }
}

/// The Go function the entry point calls: `main:` with its first letter upper-cased
/// (exported), `Main` by default.
pub fn entry_function(action: &ActionSpec) -> String {
    let main = action
        .main
        .as_deref()
        .filter(|m| !m.is_empty())
        .unwrap_or("main");
    let mut chars = main.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Main".to_string(),
    }
}

/// Whether some top-level Go file of the sources declares `package main` with `func main()`.
fn has_own_main(sources: &[Source]) -> bool {
    sources
        .iter()
        .filter(|s| !s.name.contains('/') && s.name.ends_with(".go"))
        .filter_map(|s| std::fs::read_to_string(&s.path).ok())
        .any(|text| {
            let squeezed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            squeezed.contains("package main") && squeezed.contains("func main()")
        })
}

/// Where `go` is, on the PATH the build will see.
fn find_go(ctx: &BuildContext) -> Option<PathBuf> {
    let path = ctx
        .build_env
        .get("PATH")
        .cloned()
        .or_else(|| std::env::var("PATH").ok())?;
    which::which_in("go", Some(path), &ctx.project_dir).ok()
}

fn copy_sources(sources: &[Source], to: &Path) -> std::io::Result<()> {
    for source in sources {
        let target = to.join(&source.name);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&source.path, &target)?;
    }
    Ok(())
}

impl Builder for GoBuilder {
    fn name(&self) -> &str {
        "go"
    }

    fn detect(&self, target: &BuildTarget<'_>) -> Option<Detection> {
        let action = target.action?;
        let claims = action.local_build == Some(true)
            && !target.has_file("build.sh")
            && !target.has_file("build.cmd")
            && !target.has_file("package.json")
            && is_go(target);
        claims.then(|| Detection {
            kind: sluice_core::build_kind::IDENTIFY.to_string(),
            priority: 5,
        })
    }

    fn build(&self, job: &BuildJob<'_>, ctx: &BuildContext) -> Result<Option<Artifact>> {
        let BuildJob::Action { package, action } = job else {
            return Err(Error::Build {
                entity: job.entity(),
                message: "the Go builder does not build lib/".to_string(),
                output: None,
            });
        };
        build_action(package, action, ctx).map(Some)
    }
}

fn build_action(package: &str, action: &ActionSpec, ctx: &BuildContext) -> Result<Artifact> {
    let entity = finder::action_entity(package, action);
    let qualified = action.qualified_name(package);
    let failure = |message: String| Error::Build {
        entity: entity.clone(),
        message,
        output: None,
    };
    if find_go(ctx).is_none() {
        return Err(failure(format!(
            "Function '{qualified}' has 'localBuild: true' but no Go toolchain ('go') was found on the PATH; install Go (https://go.dev/dl/ or your system's golang package), or remove 'localBuild: true' so that the function is built remotely"
        )));
    }
    let rel_dir = action
        .file
        .as_deref()
        .ok_or_else(|| failure(format!("Action '{qualified}' has no directory to build")))?
        .trim_end_matches(['/', '\\'])
        .to_string();
    let dir = ctx.resolve(&rel_dir);
    let sources = finder::collect_sources(package, action, ctx)?;
    finder::explain(
        ctx,
        &qualified,
        "built with go build: a local Go build always runs",
    );

    let scratch = tempfile::Builder::new()
        .prefix("sluice-go-")
        .tempdir()
        .map_err(|e| failure(format!("could not make a scratch directory: {e}")))?;
    let src = scratch.path().join("src");
    copy_sources(&sources, &src)
        .map_err(|e| failure(format!("could not copy the sources: {e}")))?;
    if !src.join("go.mod").exists() {
        let module = "module action\n\ngo 1.17\n";
        std::fs::write(src.join("go.mod"), module).map_err(|e| Error::io(src.join("go.mod"), e))?;
    }
    if !has_own_main(&sources) {
        let launcher = LAUNCHER.replace("SLUICE_ENTRY", &entry_function(action));
        let path = src.join("main__sluice.go");
        std::fs::write(&path, launcher).map_err(|e| Error::io(&path, e))?;
    }

    let out_dir = scratch.path().join("out");
    std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(&out_dir, e))?;
    let mut go_ctx = ctx.clone();
    for (k, v) in [("GOOS", "linux"), ("GOARCH", "amd64"), ("CGO_ENABLED", "0")] {
        go_ctx.build_env.insert(k.to_string(), v.to_string());
    }
    let command_line = "go build -ldflags='-s -w' -trimpath -o ../out/exec .";
    finder::run_build_command(
        &BuildCommand {
            command_line,
            info: "go build",
            error_tag: "go build",
            dir: &src,
            display_path: &finder::display_path(ctx, &rel_dir),
            entity: &entity,
        },
        &go_ctx,
    )?;

    let exec = out_dir.join("exec");
    set_executable(&exec)?;
    let zip_path = dir.join(finder::ZIP_NAME);
    finder::write_zip(
        &zip_path,
        &[Source {
            path: exec,
            name: "exec".to_string(),
        }],
    )?;
    let runtime = action
        .runtime
        .clone()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "go:default".to_string());
    Ok(Artifact {
        file: zip_path
            .strip_prefix(&ctx.project_dir)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_else(|_| zip_path.display().to_string()),
        runtime: Some(runtime),
        binary: true,
        zipped: true,
        main: None,
        status: BuildStatus::Built,
    })
}

#[cfg(unix)]
fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io(path, e))
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> Result<()> {
    // The zip records 0755 only where the file system has Unix modes; elsewhere the runtime
    // gets the default mode, which the Go runtime accepts for `exec`.
    Ok(())
}
