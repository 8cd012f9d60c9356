//! The python builder with real python3, real pip (against PyPI, through pip's own cache)
//! and real zips. The pinned version (six 1.16.0) differs from the host's six, so a passing
//! import of the pinned version proves the virtualenv, not the host, supplied it.

#![cfg(unix)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use sluice_core::feedback::Level;
use sluice_core::{
    ActionSpec, Artifact, BuildContext, BuildJob, BuildStatus, BuildTarget, Builder, Flags,
    Recorder, build_kind,
};
use sluice_python_builder::interpreter::{self, DEFAULT_PYTHON};
use sluice_python_builder::venv::Layout;
use sluice_python_builder::{PythonBuilder, command_line};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PINNED: &str = "1.16.0";
const MAIN: &str = "import six\n\ndef main(args):\n    return {'six': six.__version__}\n";

fn write(root: &Path, rel: &str, text: &str) -> std::io::Result<()> {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&p, text)
}

fn action(file: &str) -> ActionSpec {
    ActionSpec {
        name: file.rsplit('/').next().unwrap_or(file).to_string(),
        file: Some(file.to_string()),
        build: Some(build_kind::IDENTIFY.to_string()),
        ..Default::default()
    }
}

fn ctx(root: &Path, flags: Flags) -> (BuildContext, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let mut c = BuildContext::new(root, flags);
    c.best_project_name = "proj".to_string();
    c.feedback = recorder.clone();
    c.build_env
        .insert("PIP_DISABLE_PIP_VERSION_CHECK".into(), "1".into());
    (c, recorder)
}

fn build(c: &BuildContext, a: &ActionSpec) -> sluice_core::Result<Artifact> {
    PythonBuilder
        .build(
            &BuildJob::Action {
                package: "p",
                action: a,
            },
            c,
        )?
        .ok_or_else(|| sluice_core::Error::project("no artifact"))
}

fn zip_names(zip: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let archive = zip::ZipArchive::new(std::fs::File::open(zip)?)?;
    Ok(archive
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()?)
}

fn progress(rec: &Recorder) -> Vec<String> {
    rec.lines()
        .into_iter()
        .filter(|(level, _)| *level != Level::Warn)
        .map(|(_, l)| l)
        .filter(|l| !l.starts_with("Still running"))
        .collect()
}

fn host_x_y() -> Result<String, Box<dyn std::error::Error>> {
    let c = BuildContext::new("/", Flags::default());
    Ok(interpreter::version(DEFAULT_PYTHON, &c)?)
}

/// A function that pins six builds a zip whose virtualenv has the pinned six, laid out as the
/// OpenWhisk python runtime loads it, and the zip's `activate_this.py` makes that six the
/// one an isolated interpreter imports.
#[test]
fn requirements_are_installed_into_the_zips_virtualenv() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = "packages/p/pinned";
    write(
        tmp.path(),
        &format!("{d}/requirements.txt"),
        &format!("six=={PINNED}\n"),
    )?;
    write(tmp.path(), &format!("{d}/__main__.py"), MAIN)?;
    let (c, rec) = ctx(tmp.path(), Flags::default());
    let art = build(&c, &action(d))?;
    assert_eq!(art.file, format!("{d}/__deployer__.zip"));
    assert_eq!(art.runtime.as_deref(), Some("python:default"));
    assert_eq!(art.status, BuildStatus::Built);

    let x_y = host_x_y()?;
    let site = format!("virtualenv/lib/python{x_y}/site-packages");
    let names = zip_names(&tmp.path().join(&art.file))?;
    for expected in [
        "__main__.py".to_string(),
        "requirements.txt".to_string(),
        "virtualenv/bin/activate_this.py".to_string(),
        "virtualenv/.sluice-requirements".to_string(),
        format!("{site}/six.py"),
        format!("{site}/six-{PINNED}.dist-info/METADATA"),
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let layout = Layout::new(&tmp.path().join(d), &x_y);
    let line = command_line(DEFAULT_PYTHON, &layout);
    assert_eq!(
        line,
        format!("python3 -m pip install -r requirements.txt --target {site}")
    );
    assert_eq!(
        progress(&rec),
        [
            format!("Started running {line} in proj/{d}"),
            format!("Finished running {line} in proj/{d}"),
        ]
    );

    // What the runtime does: exec virtualenv/bin/activate_this.py, then import. No site,
    // no user site, no PYTHON* variables, so only the stdlib and the virtualenv are there.
    let unpacked = tmp.path().join("unpacked");
    zip::ZipArchive::new(std::fs::File::open(tmp.path().join(&art.file))?)?.extract(&unpacked)?;
    let out = Command::new(DEFAULT_PYTHON)
        .args(["-I", "-S", "-c"])
        .arg(
            "f='virtualenv/bin/activate_this.py'\n\
             exec(compile(open(f).read(), f, 'exec'), {'__file__': f})\n\
             import six; print(six.__version__)",
        )
        .current_dir(&unpacked)
        .output()?;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        PINNED,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// `--incremental` does not run pip again while `requirements.txt` is unchanged, and does
/// once it changes.
#[test]
fn incremental_skips_an_unchanged_install() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = "packages/p/inc";
    write(
        tmp.path(),
        &format!("{d}/requirements.txt"),
        &format!("six=={PINNED}\n"),
    )?;
    write(tmp.path(), &format!("{d}/__main__.py"), MAIN)?;
    let flags = Flags {
        incremental: true,
        verbose_build: true,
        ..Flags::default()
    };
    let (c, _) = ctx(tmp.path(), flags.clone());
    assert_eq!(build(&c, &action(d))?.status, BuildStatus::Built);

    let (c, rec) = ctx(tmp.path(), flags.clone());
    let art = build(&c, &action(d))?;
    assert_eq!(art.status, BuildStatus::Skipped);
    let x_y = host_x_y()?;
    let layout = Layout::new(&tmp.path().join(d), &x_y);
    assert_eq!(
        progress(&rec),
        [format!(
            "Skipping '{}' in {} because the previous build is still valid",
            command_line(DEFAULT_PYTHON, &layout),
            tmp.path().join(d).display()
        )]
    );

    // A changed requirements.txt installs again, from scratch.
    write(
        tmp.path(),
        &format!("{d}/requirements.txt"),
        "six==1.15.0\n",
    )?;
    let (c, rec) = ctx(tmp.path(), flags);
    assert_eq!(build(&c, &action(d))?.status, BuildStatus::Built);
    assert!(
        progress(&rec)[0].starts_with("Started running"),
        "{:?}",
        rec.lines()
    );
    let site = tmp.path().join(d).join(&layout.site_packages);
    assert!(site.join("six-1.15.0.dist-info").is_dir());
    assert!(!site.join(format!("six-{PINNED}.dist-info")).exists());
    Ok(())
}

/// A requirement pip rejects fails the build with pip's own message, as npm's output is
/// carried by an npm failure.
#[test]
fn a_bad_requirement_fails_with_pips_message() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = "packages/p/bad";
    write(tmp.path(), &format!("{d}/requirements.txt"), "six=?1.16\n")?;
    write(tmp.path(), &format!("{d}/__main__.py"), MAIN)?;
    let (c, rec) = ctx(tmp.path(), Flags::default());
    let err = build(&c, &action(d)).expect_err("the build fails");
    assert_eq!(err.to_string(), "'pip install' exited with code 1");
    let sluice_core::Error::Build { output, .. } = &err else {
        panic!("not a build error: {err:?}");
    };
    let output = output.as_deref().unwrap_or_default();
    assert!(output.contains("Invalid requirement"), "{output}");
    let warnings = rec.warnings();
    assert_eq!(
        warnings[0],
        format!("Output of failed build in {}", tmp.path().join(d).display())
    );
    assert!(warnings[1].contains("Invalid requirement"), "{warnings:?}");
    Ok(())
}

/// `--build-env` entries are in pip's environment: with `PIP_NO_INDEX=1` pip may not look
/// at PyPI, so the pinned six cannot be found.
#[test]
fn build_env_reaches_pip() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = "packages/p/offline";
    write(
        tmp.path(),
        &format!("{d}/requirements.txt"),
        &format!("six=={PINNED}\n"),
    )?;
    write(tmp.path(), &format!("{d}/__main__.py"), MAIN)?;
    let (mut c, _) = ctx(tmp.path(), Flags::default());
    c.build_env.insert("PIP_NO_INDEX".into(), "1".into());
    let err = build(&c, &action(d)).expect_err("pip finds nothing without an index");
    let sluice_core::Error::Build { output, .. } = &err else {
        panic!("not a build error: {err:?}");
    };
    let output = output.as_deref().unwrap_or_default();
    assert!(output.contains("No matching distribution"), "{output}");
    Ok(())
}

/// A `virtualenv/` the user made is deployed as it is, never replaced.
#[test]
fn a_users_own_virtualenv_is_kept() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = "packages/p/own";
    write(
        tmp.path(),
        &format!("{d}/requirements.txt"),
        &format!("six=={PINNED}\n"),
    )?;
    write(tmp.path(), &format!("{d}/__main__.py"), MAIN)?;
    write(
        tmp.path(),
        &format!("{d}/virtualenv/bin/activate_this.py"),
        "# mine\n",
    )?;
    let (c, rec) = ctx(tmp.path(), Flags::default());
    let art = build(&c, &action(d))?;
    let names = zip_names(&tmp.path().join(&art.file))?;
    assert!(names.contains(&"virtualenv/bin/activate_this.py".to_string()));
    assert!(!names.iter().any(|n| n.ends_with("six.py")), "{names:?}");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join(d).join("virtualenv/bin/activate_this.py"))?,
        "# mine\n"
    );
    assert!(
        rec.warnings()[0].contains("that sluice did not make"),
        "{:?}",
        rec.lines()
    );
    Ok(())
}

fn detect(files: &[&str], runtime: Option<&str>) -> Option<String> {
    let files: Vec<String> = files.iter().map(|f| f.to_string()).collect();
    let a = ActionSpec {
        runtime: runtime.map(str::to_string),
        ..action("packages/p/a")
    };
    let flags = Flags::default();
    let target = BuildTarget::new(Path::new("/p/a"), "packages/p/a", &files, Some(&a), &flags);
    PythonBuilder
        .detect(&target)
        .map(|d| format!("{} {}", d.kind, d.priority))
}

/// Detection: python functions with requirements.txt, recorded as the original records them;
/// a build script or package.json leaves the function to its builder.
#[test]
fn detection_leaves_scripts_and_npm_their_functions() {
    let py = ["__main__.py", "requirements.txt"];
    assert_eq!(detect(&py, None).as_deref(), Some("identify 10"));
    assert_eq!(
        detect(&["__main__.py", "requirements.txt", ".include"], None).as_deref(),
        Some(".include 15")
    );
    assert_eq!(
        detect(&["main.js", "requirements.txt"], Some("python:3.11")).as_deref(),
        Some("identify 10")
    );
    for other in ["build.sh", "build.cmd", "package.json"] {
        assert_eq!(
            detect(&["__main__.py", "requirements.txt", other], None),
            None,
            "{other}"
        );
    }
    assert_eq!(detect(&["__main__.py"], None), None);
    assert_eq!(detect(&["index.js", "requirements.txt"], None), None);
    assert_eq!(detect(&py, Some("nodejs:20")), None);
    let files: Vec<String> = py.iter().map(|f| f.to_string()).collect();
    let flags = Flags::default();
    let lib = BuildTarget::new(Path::new("/p/lib"), "lib", &files, None, &flags);
    assert!(PythonBuilder.detect(&lib).is_none());
}
