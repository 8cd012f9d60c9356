//! The Go builder: detection, the missing-toolchain error, and (when `go` is installed) a
//! real build whose `exec` speaks the action-loop protocol.

use std::io::Read;
use std::path::Path;

use sluice_core::{ActionSpec, BuildContext, BuildJob, BuildTarget, Builder, Flags};
use sluice_go_builder::{GoBuilder, entry_function};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn write(root: &Path, rel: &str, text: &str) -> std::io::Result<()> {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&p, text)
}

fn action(file: &str, local: bool) -> ActionSpec {
    ActionSpec {
        name: file.rsplit('/').next().unwrap_or(file).to_string(),
        file: Some(file.to_string()),
        local_build: local.then_some(true),
        build: Some("identify".to_string()),
        ..Default::default()
    }
}

fn files(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn claims_only_local_go_builds_without_scripts() {
    let flags = Flags::default();
    let dir = Path::new("/p/packages/g/hello");
    let go = files(&["go.mod", "main.go"]);
    let detect = |a: &ActionSpec, f: &[String]| {
        GoBuilder
            .detect(&BuildTarget::new(
                dir,
                "packages/g/hello",
                f,
                Some(a),
                &flags,
            ))
            .map(|d| (d.kind, d.priority))
    };
    assert_eq!(
        detect(&action("packages/g/hello", true), &go),
        Some(("identify".into(), 5))
    );
    assert_eq!(detect(&action("packages/g/hello", false), &go), None);
    let with_script = files(&["build.sh", "main.go"]);
    assert_eq!(
        detect(&action("packages/g/hello", true), &with_script),
        None
    );
    let js = files(&["index.js"]);
    assert_eq!(detect(&action("packages/g/hello", true), &js), None);
    let mut explicit = action("packages/g/hello", true);
    explicit.runtime = Some("go:1.17".into());
    assert_eq!(
        detect(&explicit, &files(&["handler"])),
        Some(("identify".into(), 5))
    );
}

#[test]
fn the_entry_function_is_the_exported_main() {
    let mut a = action("packages/g/hello", true);
    assert_eq!(entry_function(&a), "Main");
    a.main = Some("hello".into());
    assert_eq!(entry_function(&a), "Hello");
}

#[test]
fn without_a_toolchain_the_error_says_what_to_do() -> TestResult {
    let tmp = tempfile::tempdir()?;
    write(tmp.path(), "packages/g/hello/main.go", "package main\n")?;
    let empty_path = tmp.path().join("no-tools");
    std::fs::create_dir_all(&empty_path)?;
    let mut ctx = BuildContext::new(tmp.path(), Flags::default());
    ctx.build_env
        .insert("PATH".into(), empty_path.display().to_string());
    let a = action("packages/g/hello", true);
    let err = GoBuilder
        .build(
            &BuildJob::Action {
                package: "g",
                action: &a,
            },
            &ctx,
        )
        .expect_err("no go");
    let text = err.to_string();
    assert!(
        text.starts_with("Function 'g/hello' has 'localBuild: true' but no Go toolchain"),
        "{text}"
    );
    assert!(
        text.contains("install Go") && text.contains("remove 'localBuild: true'"),
        "{text}"
    );
    Ok(())
}

const HELLO: &str = r#"package main

func Main(args map[string]interface{}) map[string]interface{} {
	name, ok := args["name"].(string)
	if !ok {
		name = "stranger"
	}
	return map[string]interface{}{"body": "Hello " + name + "!"}
}
"#;

#[cfg(all(unix, target_arch = "x86_64", target_os = "linux"))]
#[test]
fn a_local_build_zips_an_action_loop_exec() -> TestResult {
    use std::os::unix::fs::PermissionsExt;

    if which::which("go").is_err() {
        eprintln!("NOTE: 'go' is not on the PATH, so the real Go build test did not run");
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    write(tmp.path(), "packages/g/hello/hello.go", HELLO)?;
    write(tmp.path(), "packages/g/hello/README.md", "not compiled")?;
    let ctx = BuildContext::new(tmp.path(), Flags::default());
    let a = action("packages/g/hello", true);
    let art = GoBuilder
        .build(
            &BuildJob::Action {
                package: "g",
                action: &a,
            },
            &ctx,
        )?
        .ok_or("no artifact")?;
    assert_eq!(art.file, "packages/g/hello/__deployer__.zip");
    assert_eq!(art.runtime.as_deref(), Some("go:default"));
    assert!(art.binary && art.zipped);

    let mut archive = zip::ZipArchive::new(std::fs::File::open(tmp.path().join(&art.file))?)?;
    assert_eq!(archive.len(), 1);
    let mut exec = archive.by_name("exec")?;
    assert_eq!(exec.unix_mode().map(|m| m & 0o777), Some(0o755));
    let mut bytes = Vec::new();
    exec.read_to_end(&mut bytes)?;
    let unpacked = tmp.path().join("exec");
    std::fs::write(&unpacked, &bytes)?;
    std::fs::set_permissions(&unpacked, std::fs::Permissions::from_mode(0o755))?;

    // The action loop: acknowledge on fd 3, then one JSON answer per JSON line on stdin.
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(
            r#"printf '%s\n' '{"value":{"name":"sammy"}}' '{"value":{}}' | ./exec 3>&1 >/dev/null"#,
        )
        .current_dir(tmp.path())
        .output()?;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"ok\": true}\n{\"body\":\"Hello sammy!\"}\n{\"body\":\"Hello stranger!\"}\n"
    );
    // The sources stay as they were: no launcher or go.mod left behind.
    assert!(!tmp.path().join("packages/g/hello/go.mod").exists());
    Ok(())
}

#[cfg(unix)]
#[test]
fn a_compile_error_is_reported_with_the_compiler_output() -> TestResult {
    if which::which("go").is_err() {
        eprintln!("NOTE: 'go' is not on the PATH, so the Go compile-error test did not run");
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    write(
        tmp.path(),
        "packages/g/bad/hello.go",
        "package main\n\nfunc Main(args map[string]interface{}) map[string]interface{} {\n\treturn k\n}\n",
    )?;
    let ctx = BuildContext::new(tmp.path(), Flags::default());
    let a = action("packages/g/bad", true);
    let err = GoBuilder
        .build(
            &BuildJob::Action {
                package: "g",
                action: &a,
            },
            &ctx,
        )
        .expect_err("compile error");
    assert!(
        err.to_string().starts_with("'go build' exited with code "),
        "{err}"
    );
    let sluice_core::Error::Build { output, .. } = err else {
        return Err("not a build error".into());
    };
    assert!(output.unwrap_or_default().contains("undefined: k"));
    Ok(())
}
