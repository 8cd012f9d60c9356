//! Finder tests on real directories and real zips.

use std::io::Read;
use std::path::Path;

use super::*;
use crate::model::Flags;

type BoxError = Box<dyn std::error::Error>;
type TestResult<T = ()> = std::result::Result<T, BoxError>;

/// Name, Unix mode and text of each entry, in zip order.
type Entries = Vec<Entry>;
type Entry = (String, u32, String);

fn write(root: &Path, rel: &str, text: &str) -> std::io::Result<()> {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(p, text)
}

fn action(file: &str, runtime: Option<&str>) -> ActionSpec {
    ActionSpec {
        name: Path::new(file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        file: Some(file.to_string()),
        runtime: runtime.map(str::to_string),
        ..Default::default()
    }
}

fn ctx(root: &Path) -> BuildContext {
    let mut c = BuildContext::new(root, Flags::default());
    c.best_project_name = "proj".to_string();
    c
}

fn entries(zip: &Path) -> TestResult<Entries> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip)?)?;
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i)?;
        let mut text = String::new();
        f.read_to_string(&mut text)?;
        out.push((f.name()?.into_owned(), f.unix_mode().unwrap_or(0), text));
    }
    Ok(out)
}

#[test]
fn a_directory_with_one_file_deploys_that_file() -> TestResult {
    let tmp = tempfile::tempdir()?;
    write(tmp.path(), "packages/p/a/index.js", "x")?;
    let art = identify("p", &action("packages/p/a", None), &ctx(tmp.path()))?;
    assert_eq!(art.file, "packages/p/a/index.js");
    assert_eq!(art.runtime.as_deref(), Some("nodejs:default"));
    assert!(!art.binary && !art.zipped);
    assert!(!tmp.path().join("packages/p/a").join(ZIP_NAME).exists());
    Ok(())
}

#[test]
fn a_plain_directory_is_zipped_with_sorted_entries_and_modes() -> TestResult {
    let tmp = tempfile::tempdir()?;
    write(tmp.path(), "packages/p/a/index.js", "main")?;
    write(tmp.path(), "packages/p/a/src/util.js", "util")?;
    write(tmp.path(), "packages/p/a/build.sh", "echo")?;
    write(tmp.path(), "packages/p/a/.gitignore", "x")?;
    write(tmp.path(), "packages/p/a/README", "doc")?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            tmp.path().join("packages/p/a/README"),
            std::fs::Permissions::from_mode(0o755),
        )?;
    }
    let art = identify("p", &action("packages/p/a", None), &ctx(tmp.path()))?;
    assert_eq!(art.file, "packages/p/a/__deployer__.zip");
    assert_eq!(art.runtime.as_deref(), Some("nodejs:default"));
    assert!(art.binary && art.zipped);
    let got = entries(&tmp.path().join(&art.file))?;
    let names: Vec<&str> = got.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, ["README", "index.js", "src/util.js"]);
    #[cfg(unix)]
    assert_eq!(got[0].1 & 0o777, 0o755);
    assert_eq!(got[2].2, "util");
    Ok(())
}

#[test]
fn ignore_patterns_are_relative_to_the_action_directory() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = "packages/p/a";
    write(tmp.path(), &format!("{d}/x.js"), "1")?;
    write(tmp.path(), &format!("{d}/keep.js"), "1")?;
    write(tmp.path(), &format!("{d}/src/x.js"), "1")?;
    write(tmp.path(), &format!("{d}/src/y.js"), "1")?;
    write(tmp.path(), &format!("{d}/node_modules/m/i.js"), "1")?;
    write(tmp.path(), &format!("{d}/docs/a.md"), "1")?;
    write(
        tmp.path(),
        &format!("{d}/.ignore"),
        "/x.js\nsrc/y.js\nnode_modules\n*.md\n",
    )?;
    let art = identify("p", &action(d, Some("nodejs:18")), &ctx(tmp.path()))?;
    let names: Vec<String> = entries(&tmp.path().join(&art.file))?
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(names, ["keep.js", "src/x.js"]);
    assert_eq!(art.runtime.as_deref(), Some("nodejs:18"));
    Ok(())
}

#[test]
fn include_reaches_lib_and_one_file_is_not_zipped() -> TestResult {
    let tmp = tempfile::tempdir()?;
    write(tmp.path(), "lib/common/foo.js", "foo")?;
    write(tmp.path(), "lib/common/foo.js~", "backup")?;
    write(
        tmp.path(),
        "packages/t/test/.include",
        "../../../lib/common\n",
    )?;
    let art = identify(
        "t",
        &action("packages/t/test", Some("nodejs:default")),
        &ctx(tmp.path()),
    )?;
    assert_eq!(art.file, "lib/common/foo.js");
    assert!(!tmp.path().join("packages/t/test").join(ZIP_NAME).exists());
    Ok(())
}

#[test]
fn include_expands_directories_under_their_base_name() -> TestResult {
    let tmp = tempfile::tempdir()?;
    write(tmp.path(), "lib/common/a.js", "a")?;
    write(tmp.path(), "lib/common/deep/b.js", "b")?;
    write(tmp.path(), "packages/p/f/main.js", "m")?;
    write(tmp.path(), "packages/p/f/unlisted.js", "u")?;
    write(
        tmp.path(),
        "packages/p/f/.include",
        "./main.js\n\n  ../../../lib/common/  \n",
    )?;
    let art = identify("p", &action("packages/p/f", None), &ctx(tmp.path()))?;
    let names: Vec<String> = entries(&tmp.path().join(&art.file))?
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(names, ["common/a.js", "common/deep/b.js", "main.js"]);
    Ok(())
}

#[test]
fn include_errors_have_the_original_wording() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let c = ctx(tmp.path());
    write(tmp.path(), "packages/p/e/.include", "\n  \n")?;
    let e = identify("p", &action("packages/p/e", None), &c).expect_err("empty");
    assert_eq!(e.to_string(), "packages/p/e/.include is empty");
    write(tmp.path(), "packages/p/m/.include", "gone.js\n")?;
    let e = identify("p", &action("packages/p/m", None), &c).expect_err("missing");
    assert_eq!(
        e.to_string(),
        "packages/p/m/gone.js is included for 'packages/p/m' but does not exist"
    );
    write(
        tmp.path(),
        "packages/p/x/.include",
        "a.js\n../../../lib/../../etc/passwd\n",
    )?;
    let e = identify("p", &action("packages/p/x", None), &c).expect_err("illegal");
    assert_eq!(e.to_string(), "Illegal use of '..' in an '.include' file");
    Ok(())
}

#[test]
fn only_build_scripts_means_no_included_files() -> TestResult {
    let tmp = tempfile::tempdir()?;
    write(tmp.path(), "packages/default/action/build.sh", "echo built")?;
    write(
        tmp.path(),
        "packages/default/action/build.cmd",
        "echo built",
    )?;
    let e = identify(
        "default",
        &action("packages/default/action", Some("nodejs:default")),
        &ctx(tmp.path()),
    )
    .expect_err("no files");
    assert_eq!(e.to_string(), "Action 'action' has no included files");
    assert!(
        !tmp.path()
            .join("packages/default/action")
            .join(ZIP_NAME)
            .exists()
    );
    Ok(())
}

#[test]
fn runtime_disagreement_names_both_files() -> TestResult {
    let tmp = tempfile::tempdir()?;
    write(tmp.path(), "packages/p/mix/index.js", "1")?;
    write(tmp.path(), "packages/p/mix/main.py", "1")?;
    let e = identify("p", &action("packages/p/mix", None), &ctx(tmp.path())).expect_err("conflict");
    assert_eq!(
        e.to_string(),
        "Action 'p/mix' not deployed: its files imply different runtimes: 'index.js' (nodejs:default) and 'main.py' (python:default)"
    );
    write(tmp.path(), "packages/p/none/a.txt", "1")?;
    write(tmp.path(), "packages/p/none/b.txt", "1")?;
    let e = identify("p", &action("packages/p/none", None), &ctx(tmp.path())).expect_err("none");
    assert_eq!(
        e.to_string(),
        "Action 'p/none' not deployed: runtime type could not be determined"
    );
    Ok(())
}

fn touch_all(dir: &Path, when: filetime_like::Stamp) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            touch_all(&entry.path(), when)?;
        } else {
            filetime_like::set(&entry.path(), when)?;
        }
    }
    Ok(())
}

/// Setting mtimes without another dependency: std's `File::set_modified`.
mod filetime_like {
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    pub type Stamp = u64;

    pub fn set(path: &Path, secs: Stamp) -> std::io::Result<()> {
        let f = std::fs::File::options().write(true).open(path)?;
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }
}

#[test]
fn zips_are_byte_identical_across_runs_touches_and_locations() -> TestResult {
    let make = |root: &Path| -> std::io::Result<()> {
        write(root, "packages/p/a/index.js", "main")?;
        write(root, "packages/p/a/src/b.js", "b")?;
        write(root, "packages/p/a/src/c/d.json", "{}")
    };
    let one = tempfile::tempdir()?;
    let two = tempfile::tempdir()?;
    make(one.path())?;
    make(two.path())?;
    let a = action("packages/p/a", None);
    let art = identify("p", &a, &ctx(one.path()))?;
    let first = std::fs::read(one.path().join(&art.file))?;
    touch_all(&one.path().join("packages/p/a/src"), 2_000_000_000)?;
    identify("p", &a, &ctx(one.path()))?;
    let second = std::fs::read(one.path().join(&art.file))?;
    identify("p", &a, &ctx(two.path()))?;
    let elsewhere = std::fs::read(two.path().join(&art.file))?;
    assert_eq!(first, second);
    assert_eq!(first, elsewhere);
    Ok(())
}

#[test]
fn incremental_reuse_needs_unchanged_times_and_file_set() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = tmp.path().join("packages/p/a");
    write(tmp.path(), "packages/p/a/index.js", "main")?;
    write(tmp.path(), "packages/p/a/b.js", "b")?;
    write(tmp.path(), "packages/p/a/c.js", "c")?;
    touch_all(&d, 1_000_000_000)?;
    let mut c = ctx(tmp.path());
    c.flags.incremental = true;
    let a = action("packages/p/a", None);
    assert_eq!(identify("p", &a, &c)?.status, BuildStatus::Built);
    assert_eq!(identify("p", &a, &c)?.status, BuildStatus::Reused);
    // A deleted file is noticed although nothing is newer than the zip.
    std::fs::remove_file(d.join("c.js"))?;
    assert_eq!(identify("p", &a, &c)?.status, BuildStatus::Built);
    assert_eq!(identify("p", &a, &c)?.status, BuildStatus::Reused);
    // A file newer than the zip forces a rezip; without --incremental there is no reuse.
    filetime_like::set(&d.join("b.js"), 4_000_000_000)?;
    assert_eq!(identify("p", &a, &c)?.status, BuildStatus::Built);
    c.flags.incremental = false;
    assert_eq!(identify("p", &a, &c)?.status, BuildStatus::Built);
    Ok(())
}

#[cfg(unix)]
#[test]
fn symlinks_stay_links_inside_and_become_contents_outside() -> TestResult {
    let tmp = tempfile::tempdir()?;
    write(tmp.path(), "packages/p/a/index.js", "main")?;
    write(tmp.path(), "secret.txt", "outside")?;
    let d = tmp.path().join("packages/p/a");
    std::os::unix::fs::symlink("index.js", d.join("alias.js"))?;
    std::os::unix::fs::symlink("../../../secret.txt", d.join("out.txt"))?;
    let art = identify("p", &action("packages/p/a", None), &ctx(tmp.path()))?;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(tmp.path().join(&art.file))?)?;
    let alias = archive.by_name("alias.js")?;
    assert!(alias.is_symlink());
    drop(alias);
    let mut out = archive.by_name("out.txt")?;
    assert!(!out.is_symlink());
    let mut text = String::new();
    out.read_to_string(&mut text)?;
    assert_eq!(text, "outside");
    Ok(())
}

#[test]
fn detection_follows_the_contract() {
    let flags = Flags::default();
    let a = action("packages/p/a", None);
    let dir = Path::new("/x");
    let with_include = [".include".to_string(), "a.js".to_string()];
    let t = BuildTarget::new(dir, "packages/p/a", &with_include, Some(&a), &flags);
    assert_eq!(
        Finder.detect(&t).map(|d| (d.kind, d.priority)),
        Some((".include".into(), 10))
    );
    let plain = ["a.js".to_string()];
    let t = BuildTarget::new(dir, "packages/p/a", &plain, Some(&a), &flags);
    assert_eq!(
        Finder.detect(&t).map(|d| (d.kind, d.priority)),
        Some(("identify".into(), 0))
    );
    let t = BuildTarget::new(dir, "lib", &plain, None, &flags);
    assert_eq!(Finder.detect(&t), None);
}
