//! Whole-read tests of [`crate::read_project`]: the pipeline's order and what reaches the
//! structure. The CLI snapshots in `tests/get_metadata.rs` cover the spec's fixtures.

use std::path::Path;
use std::sync::Arc;

use sluice_core::{Flags, ReadContext, Recorder, WebSetting};

use crate::read_project;

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let p = t.path().join(path);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    t
}

fn read(
    dir: &Path,
    flags: Flags,
) -> (
    crate::error::Result<sluice_core::DeployStructure>,
    Arc<Recorder>,
) {
    let recorder = Arc::new(Recorder::default());
    let mut ctx = ReadContext::new(flags);
    ctx.feedback = recorder.clone();
    let location = dir.display().to_string();
    (read_project(&location, &ctx), recorder)
}

fn names(s: &sluice_core::DeployStructure) -> Vec<String> {
    s.actions()
        .map(|(p, a)| format!("{}/{}", p.name, a.name))
        .collect()
}

#[test]
fn include_and_exclude_filter_the_scan_and_the_config() {
    let t = project(&[
        ("packages/a/one.js", ""),
        ("packages/a/two.js", ""),
        ("packages/b/three.js", ""),
        (
            "project.yml",
            "packages:\n  - name: a\n    functions:\n      - name: seq\n        sequence: [a/one]\n  - name: c\n    functions:\n      - name: cfg\n        file: packages/a/one.js\n",
        ),
    ]);
    let flags = Flags {
        include: Some("a,c/cfg".into()),
        exclude: Some("a/two".into()),
        ..Flags::default()
    };
    let ctx_flags = flags.clone();
    let recorder = Arc::new(Recorder::default());
    let mut ctx = ReadContext::new(ctx_flags);
    ctx.feedback = recorder;
    let s = read_project(&t.path().display().to_string(), &ctx).expect("reads");
    assert_eq!(names(&s), ["a/one", "a/seq", "c/cfg"]);
}

#[test]
fn an_empty_directory_is_a_valid_project() {
    let t = project(&[]);
    let (s, _) = read(t.path(), Flags::default());
    let s = s.expect("reads");
    assert!(s.packages.is_empty());
    assert!(s.strays.is_empty());
    assert!(s.deployer_annotation.is_some());
}

#[test]
fn strays_and_warnings() {
    let t = project(&[
        ("notes.txt", ""),
        ("other.yaml", "a: 1\n"),
        ("stuff/x", ""),
        (".deployed/versions.json", "{}"),
        (".gitignore", ""),
        ("packages/README.md", ""),
        ("packages/p/x.js", ""),
    ]);
    let (s, recorder) = read(t.path(), Flags::default());
    let s = s.expect("reads");
    // `packages/` strays first, by bare name, as the original concatenates them.
    assert_eq!(s.strays, ["README.md", "notes.txt", "stuff"]);
    assert_eq!(
        recorder.warnings(),
        ["Warning: found other.yaml but no project.yml"]
    );
    assert_eq!(names(&s), ["p/x"]);
}

#[test]
fn hidden_folders_in_packages_are_refused_by_name() {
    // The original (spec §16 item 20) read them as packages the controller then refused.
    let t = project(&[("packages/.hidden/x.js", "")]);
    let (s, _) = read(t.path(), Flags::default());
    let e = s.expect_err("not a valid name");
    assert!(
        e.to_string().starts_with(
            "packages/.hidden: the package name '.hidden' is not a valid OpenWhisk name"
        ),
        "{e}"
    );
}

#[test]
fn legacy_config_name_is_read_with_a_warning() {
    let t = project(&[
        ("projectConfig.yml", "parameters: {a: 1}\n"),
        ("packages/p/x.js", ""),
    ]);
    let (s, recorder) = read(t.path(), Flags::default());
    assert!(s.expect("reads").parameters.is_some());
    assert_eq!(
        recorder.warnings(),
        [
            "Warning: the name 'projectConfig.yml' is deprecated; please rename to 'project.yml' soon"
        ]
    );
}

#[test]
fn scan_errors_take_precedence_over_config_errors() {
    let t = project(&[
        ("project.yml", "bogus: 1\n"),
        ("packages/p/a/.include", "x"),
        ("packages/p/a/.ignore", "y"),
    ]);
    let (s, _) = read(t.path(), Flags::default());
    let e = s.expect_err("fails");
    assert!(e.to_string().contains("may not both be present"), "{e}");

    let t = project(&[("project.yml", "bogus: 1\n"), ("packages/p/a.js", "")]);
    let (s, _) = read(t.path(), Flags::default());
    match s.expect_err("fails") {
        crate::ReadError::Config {
            message,
            line,
            file,
            ..
        } => {
            assert_eq!(message, "Invalid key 'bogus' found in project.yml");
            assert_eq!(line, Some(1));
            assert_eq!(file, "project.yml");
        }
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn validation_errors_win_over_unresolved_variables() {
    let t = project(&[("project.yml", "parameters: ${NOPE}\nbogus: 1\n")]);
    let (s, _) = read(t.path(), Flags::default());
    assert!(matches!(s, Err(crate::ReadError::Config { .. })));
}

#[test]
fn unresolved_variables_give_the_config_part_only() {
    let t = project(&[
        (
            "project.yml",
            "packages:\n  - name: p\n    functions:\n      - name: x\n        main: ${RT}\n",
        ),
        ("packages/p/x.js", ""),
        ("packages/p/y.js", ""),
    ]);
    let (s, _) = read(t.path(), Flags::default());
    let s = s.expect("reads");
    assert_eq!(s.unresolved_variables, Some(vec!["RT".to_string()]));
    assert_eq!(names(&s), ["p/x"]);
    assert_eq!(s.packages[0].actions[0].web, None, "no web defaults");
}

#[test]
fn env_file_precedence_and_missing_files() {
    let t = project(&[
        ("project.yml", "parameters:\n  v: ${V}\n"),
        (".env", "V=from-dotenv\n"),
        ("other.env", "V=from-flag\n"),
    ]);
    let (s, _) = read(t.path(), Flags::default());
    assert_eq!(
        s.expect("reads").parameters,
        serde_json::json!({"v": "from-dotenv"}).as_object().cloned()
    );
    let flag = t.path().join("other.env").display().to_string();
    let (s, _) = read(
        t.path(),
        Flags {
            env: Some(flag),
            ..Flags::default()
        },
    );
    let s = s.expect("reads");
    assert_eq!(
        s.parameters,
        serde_json::json!({"v": "from-flag"}).as_object().cloned()
    );
    assert_eq!(s.strays, [".env", "other.env"]);

    let (s, _) = read(
        t.path(),
        Flags {
            env: Some("/nonexistent/x.env".into()),
            ..Flags::default()
        },
    );
    assert_eq!(
        s.expect_err("missing").to_string(),
        "The specified environment file '/nonexistent/x.env' does not exist"
    );
}

#[test]
fn build_env_is_attached() {
    let t = project(&[("packages/p/x.js", ""), ("build.env", "USER_NAME=sammy\n")]);
    let (s, _) = read(
        t.path(),
        Flags {
            build_env: Some(t.path().join("build.env").display().to_string()),
            ..Flags::default()
        },
    );
    let s = s.expect("reads");
    assert_eq!(
        s.build_env
            .and_then(|b| b.get("USER_NAME").cloned())
            .as_deref(),
        Some("sammy")
    );
}

#[test]
fn config_overrides_runtime_and_web_defaults_apply() {
    let t = project(&[
        (
            "project.yml",
            "packages:\n  - name: p\n    web: raw\n    functions:\n      - name: x\n        runtime: nodejs:18\n        web: false\n",
        ),
        ("packages/p/x.js", ""),
        ("packages/p/y.js", ""),
    ]);
    let (s, _) = read(t.path(), Flags::default());
    let s = s.expect("reads");
    let p = &s.packages[0];
    assert_eq!(p.actions[0].runtime.as_deref(), Some("nodejs:18"));
    assert_eq!(p.actions[0].web, Some(WebSetting::Off));
    assert_eq!(p.actions[1].web, Some(WebSetting::Raw));
}

#[test]
fn display_files_use_the_project_path() {
    let t = project(&[("packages/default/hello.js", "")]);
    let (s, _) = read(t.path(), Flags::default());
    let s = s.expect("reads");
    let a = &s.packages[0].actions[0];
    let base = std::path::absolute(t.path()).expect("absolute");
    assert_eq!(
        a.display_file.as_deref(),
        Some(format!("{}/packages/default/hello.js", base.display()).as_str())
    );
}

#[test]
fn the_manifest_lists_plugins_and_hooks_after_substitution() {
    let t = project(&[
        (
            "project.yml",
            "plugins: [libs/${KIND}.so]\nhooks:\n  - hooks/a.lua\npackages: []\n",
        ),
        (".env", "KIND=local\n"),
    ]);
    let ctx = ReadContext::new(Flags::default());
    let m = crate::read_manifest(&t.path().display().to_string(), &ctx).expect("manifest");
    assert_eq!(m.plugins, ["libs/local.so"]);
    assert_eq!(m.hooks, ["hooks/a.lua"]);
    // The full read that follows sees the same project (and reads the cached text).
    let s = read_project(&t.path().display().to_string(), &ctx).expect("reads");
    assert_eq!(s.plugins, Some(vec!["libs/local.so".to_string()]));
}

#[test]
fn the_manifest_reports_yaml_errors_as_the_read_does() {
    let t = project(&[("project.yml", "packages:\n  - name: [\n")]);
    let ctx = ReadContext::new(Flags::default());
    let location = t.path().display().to_string();
    let from_manifest = crate::read_manifest(&location, &ctx).expect_err("bad yaml");
    let from_read = read_project(&location, &ctx).expect_err("bad yaml");
    assert_eq!(from_manifest.to_string(), from_read.to_string());
    match from_manifest {
        crate::ReadError::Config { file, line, .. } => {
            assert_eq!(file, "project.yml");
            assert!(line.is_some());
        }
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn a_project_without_config_has_an_empty_manifest() {
    let t = project(&[("packages/p/a.js", "")]);
    let ctx = ReadContext::new(Flags::default());
    let m = crate::read_manifest(&t.path().display().to_string(), &ctx).expect("manifest");
    assert_eq!(m, sluice_core::ProjectManifest::default());
}

#[test]
fn top_level_values_reach_default_package_functions_themselves() {
    let t = project(&[
        (
            "project.yml",
            "parameters: {region: nyc1, level: top}\nenvironment: {MODE: prod}\npackages:\n  - name: default\n    functions:\n      - name: hello\n        parameters: {level: own}\n",
        ),
        ("packages/default/hello.js", ""),
        ("packages/p/other.js", ""),
    ]);
    let (s, _) = read(t.path(), Flags::default());
    let s = s.expect("reads");
    let default = s
        .packages
        .iter()
        .find(|p| p.is_default())
        .expect("the default package");
    let hello = &default.actions[0];
    assert_eq!(
        hello.parameters,
        serde_json::json!({"region": "nyc1", "level": "own"})
            .as_object()
            .cloned()
    );
    assert_eq!(
        hello.environment,
        serde_json::json!({"MODE": "prod"}).as_object().cloned()
    );
    // Other packages get them as package values at deploy, not copied into functions.
    let other = s.packages.iter().find(|p| p.name == "p").expect("p");
    assert_eq!(other.actions[0].parameters, None);
}
