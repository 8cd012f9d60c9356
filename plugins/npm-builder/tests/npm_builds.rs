//! The npm builder with real npm (no registry access: no dependencies, or `file:` ones).

#![cfg(unix)]

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use sluice_core::feedback::Level;
use sluice_core::{ActionSpec, BuildContext, BuildJob, BuildStatus, Builder, Flags, Recorder};
use sluice_npm_builder::{NpmBuilder, appears_built, plan};

type TestResult = Result<(), Box<dyn std::error::Error>>;

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
        build: Some("package.json".to_string()),
        ..Default::default()
    }
}

fn ctx(root: &Path, flags: Flags) -> (BuildContext, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let mut c = BuildContext::new(root, flags);
    c.best_project_name = "proj".to_string();
    c.feedback = recorder.clone();
    // Keep npm away from the network and from the user's cache.
    for (k, v) in [
        ("npm_config_audit", "false"),
        ("npm_config_fund", "false"),
        ("npm_config_update_notifier", "false"),
        ("npm_config_offline", "true"),
    ] {
        c.build_env.insert(k.into(), v.into());
    }
    c.build_env.insert(
        "npm_config_cache".into(),
        root.join(".npm-cache").display().to_string(),
    );
    (c, recorder)
}

fn zip_names(zip: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let archive = zip::ZipArchive::new(std::fs::File::open(zip)?)?;
    Ok(archive
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()?)
}

fn zip_text(zip: &Path, name: &str) -> Result<String, Box<dyn std::error::Error>> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip)?)?;
    let mut text = String::new();
    archive.by_name(name)?.read_to_string(&mut text)?;
    Ok(text)
}

fn build(c: &BuildContext, a: &ActionSpec) -> sluice_core::Result<Option<sluice_core::Artifact>> {
    NpmBuilder.build(
        &BuildJob::Action {
            package: "p",
            action: a,
        },
        c,
    )
}

const GREETER: &str = r#"{"name":"greeter","version":"1.0.0","main":"index.js"}"#;

#[test]
fn install_production_with_a_file_dependency_zips_node_modules() -> TestResult {
    let tmp = tempfile::tempdir()?;
    write(tmp.path(), "vendor/greeter/package.json", GREETER)?;
    write(
        tmp.path(),
        "vendor/greeter/index.js",
        "module.exports = n => `Hello ${n}!`",
    )?;
    let d = "packages/p/hello";
    write(
        tmp.path(),
        &format!("{d}/package.json"),
        r#"{"name":"hello","version":"1.0.0","main":"index.js","dependencies":{"greeter":"file:../../../vendor/greeter"}}"#,
    )?;
    write(
        tmp.path(),
        &format!("{d}/index.js"),
        "exports.main = () => ({body: require('greeter')('sammy')})",
    )?;
    let (c, rec) = ctx(tmp.path(), Flags::default());
    let art = build(&c, &action(d))?.ok_or("no artifact")?;
    assert_eq!(art.file, format!("{d}/__deployer__.zip"));
    assert_eq!(art.runtime.as_deref(), Some("nodejs:default"));
    let zip = tmp.path().join(&art.file);
    let names = zip_names(&zip)?;
    for expected in [
        "index.js",
        "package.json",
        "package-lock.json",
        "node_modules/greeter/index.js",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    // The dependency is a symlink out of the function; its files are stored, not the link.
    assert!(zip_text(&zip, "node_modules/greeter/index.js")?.contains("Hello"));
    // npm may take longer than 5 s on a busy machine; "Still running" lines are fine then.
    let progress: Vec<String> = rec
        .lines()
        .into_iter()
        .map(|(_, l)| l)
        .filter(|l| !l.starts_with("Still running"))
        .collect();
    assert_eq!(
        progress,
        [
            format!("Started running npm install --production in proj/{d}"),
            format!("Finished running npm install --production in proj/{d}"),
        ]
    );
    assert!(appears_built(&tmp.path().join(d)));
    Ok(())
}

#[test]
fn a_build_script_runs_after_install() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = "packages/p/built";
    write(
        tmp.path(),
        &format!("{d}/package.json"),
        r#"{"name":"built","version":"1.0.0","main":"dist.js","scripts":{"build":"node -e \"require('fs').writeFileSync('dist.js','exports.main=()=>({})')\""}}"#,
    )?;
    write(tmp.path(), &format!("{d}/src.js"), "// source")?;
    let dir = tmp.path().join(d);
    assert!(plan(&dir, false).has_build_script);
    assert_eq!(
        plan(&dir, true).command_line,
        "yarn install && yarn run build"
    );
    let (c, rec) = ctx(tmp.path(), Flags::default());
    let art = build(&c, &action(d))?.ok_or("no artifact")?;
    let names = zip_names(&tmp.path().join(&art.file))?;
    assert!(names.iter().any(|n| n == "dist.js"), "{names:?}");
    assert_eq!(
        rec.lines()[0].1,
        format!("Started running npm install && npm run build in proj/{d}")
    );
    Ok(())
}

#[test]
fn a_failing_build_script_is_tagged_as_the_install() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = "packages/p/broken";
    write(
        tmp.path(),
        &format!("{d}/package.json"),
        r#"{"name":"broken","version":"1.0.0","scripts":{"build":"echo failing && exit 2"}}"#,
    )?;
    write(tmp.path(), &format!("{d}/index.js"), "x")?;
    let (c, rec) = ctx(tmp.path(), Flags::default());
    let err = build(&c, &action(d)).expect_err("build fails");
    assert_eq!(err.to_string(), "'npm install' exited with code 2");
    let warnings = rec.warnings();
    assert_eq!(
        warnings[0],
        format!("Output of failed build in {}", tmp.path().join(d).display())
    );
    assert!(warnings[1].contains("failing"), "{warnings:?}");
    Ok(())
}

#[test]
fn incremental_skips_a_package_that_appears_built() -> TestResult {
    let tmp = tempfile::tempdir()?;
    write(tmp.path(), "vendor/greeter/package.json", GREETER)?;
    write(tmp.path(), "vendor/greeter/index.js", "module.exports = 1")?;
    let d = "packages/p/inc";
    write(
        tmp.path(),
        &format!("{d}/package.json"),
        r#"{"name":"inc","version":"1.0.0","dependencies":{"greeter":"file:../../../vendor/greeter"}}"#,
    )?;
    write(tmp.path(), &format!("{d}/index.js"), "x")?;
    let flags = Flags {
        incremental: true,
        verbose_build: true,
        ..Flags::default()
    };
    let (c, rec) = ctx(tmp.path(), flags);
    let a = action(d);
    assert_eq!(build(&c, &a)?.ok_or("none")?.status, BuildStatus::Built);
    assert_eq!(build(&c, &a)?.ok_or("none")?.status, BuildStatus::Skipped);
    let skip = format!(
        "Skipping 'npm install --production' in {} because the previous build is still valid",
        tmp.path().join(d).display()
    );
    assert!(rec.lines().contains(&(Level::Progress, skip)));
    // A package.json newer than node_modules makes it build again.
    let later = filetime::FileTime::from_unix_time(4_000_000_000, 0);
    filetime::set_file_mtime(tmp.path().join(d).join("package.json"), later)?;
    assert_eq!(build(&c, &a)?.ok_or("none")?.status, BuildStatus::Built);
    Ok(())
}

#[test]
fn yarn_is_used_when_asked() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = "packages/p/y";
    write(
        tmp.path(),
        &format!("{d}/package.json"),
        r#"{"name":"y","version":"1.0.0"}"#,
    )?;
    write(tmp.path(), &format!("{d}/index.js"), "x")?;
    let flags = Flags {
        yarn: true,
        ..Flags::default()
    };
    let (mut c, rec) = ctx(tmp.path(), flags);
    // A yarn that records how it was called, first on the PATH.
    write(
        tmp.path(),
        "bin/yarn",
        "#!/bin/sh\necho \"$@\" > yarn-args\n",
    )?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            tmp.path().join("bin/yarn"),
            std::fs::Permissions::from_mode(0o755),
        )?;
    }
    let path = format!(
        "{}:{}",
        tmp.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    c.build_env.insert("PATH".into(), path);
    build(&c, &action(d))?;
    assert_eq!(
        std::fs::read_to_string(tmp.path().join(d).join("yarn-args"))?,
        "install --production\n"
    );
    assert_eq!(
        rec.lines()[0].1,
        format!("Started running yarn install --production in proj/{d}")
    );
    Ok(())
}
