use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::files::{DiskFiles, Entry};
use crate::model::{Flags, PackageSpec};
use crate::plugin::{BuildContext, BuildJob, Detection};
use crate::registry::{Origin, Registry};

/// A test builder claiming directories that hold a given file.
struct Claims {
    file: &'static str,
    kind: &'static str,
    priority: i32,
}

impl Builder for Claims {
    fn name(&self) -> &str {
        self.kind
    }
    fn detect(&self, target: &BuildTarget<'_>) -> Option<Detection> {
        target.has_file(self.file).then(|| Detection {
            kind: self.kind.to_string(),
            priority: self.priority,
        })
    }
    fn build(
        &self,
        _job: &BuildJob<'_>,
        _ctx: &BuildContext,
    ) -> crate::Result<Option<crate::Artifact>> {
        Ok(None)
    }
}

/// A project held in memory, as a reader that is not a directory on disk would give it.
#[derive(Debug, Default)]
struct MemFiles(BTreeMap<String, Vec<u8>>);

impl ProjectFiles for MemFiles {
    fn root(&self) -> Option<&Path> {
        None
    }
    fn read(&self, rel: &str) -> Result<Vec<u8>> {
        self.0
            .get(rel)
            .cloned()
            .ok_or_else(|| Error::project(format!("no file {rel}")))
    }
    fn list(&self, rel_dir: &str) -> Result<Vec<Entry>> {
        let prefix = format!("{rel_dir}/");
        let mut entries: Vec<Entry> = Vec::new();
        for path in self.0.keys() {
            let Some(rest) = path.strip_prefix(&prefix) else {
                continue;
            };
            let (name, is_dir) = match rest.split_once('/') {
                Some((dir, _)) => (dir, true),
                None => (rest, false),
            };
            if !entries.iter().any(|e| e.name == name) {
                entries.push(Entry {
                    name: name.to_string(),
                    is_dir,
                });
            }
        }
        if entries.is_empty() {
            return Err(Error::project(format!("no directory {rel_dir}")));
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }
    fn exists(&self, rel: &str) -> bool {
        self.0.contains_key(rel) || self.list(rel).is_ok()
    }
}

fn setup(files: &[(&str, &str)]) -> std::io::Result<tempfile::TempDir> {
    let t = tempfile::tempdir()?;
    for (path, text) in files {
        let p = t.path().join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(p, text)?;
    }
    Ok(t)
}

/// A directory function as a reader records it: the layout's generic kind in `build`.
fn dir_action(pkg: &str, name: &str) -> ActionSpec {
    ActionSpec {
        name: name.into(),
        file: Some(format!("packages/{pkg}/{name}")),
        build: Some(build_kind::IDENTIFY.into()),
        package: Some(pkg.into()),
        ..ActionSpec::default()
    }
}

fn engine(builders: Vec<Arc<dyn Builder>>) -> Engine {
    let mut registry = Registry::new();
    for b in builders {
        registry
            .add_builder(b, Origin::BuiltIn, false)
            .expect("unique names");
    }
    Engine::new(registry)
}

fn builders() -> Vec<Arc<dyn Builder>> {
    vec![
        Arc::new(Claims {
            file: "build.sh",
            kind: "build.sh",
            priority: 30,
        }),
        Arc::new(Claims {
            file: "package.json",
            kind: "package.json",
            priority: 20,
        }),
    ]
}

fn project(actions: Vec<ActionSpec>) -> DeployStructure {
    DeployStructure {
        packages: vec![PackageSpec {
            name: "p".into(),
            actions,
            ..PackageSpec::default()
        }],
        ..DeployStructure::default()
    }
}

fn plan_with(
    files: &dyn ProjectFiles,
    actions: Vec<ActionSpec>,
    builders: Vec<Arc<dyn Builder>>,
    flags: Flags,
) -> Result<Vec<ActionSpec>> {
    let mut p = project(actions);
    engine(builders).plan(&mut p, files, &ReadContext::new(flags))?;
    Ok(p.packages.remove(0).actions)
}

fn plan(
    dir: &Path,
    actions: Vec<ActionSpec>,
    builders: Vec<Arc<dyn Builder>>,
    flags: Flags,
) -> Result<Vec<ActionSpec>> {
    plan_with(&DiskFiles::new(dir), actions, builders, flags)
}

fn kinds(actions: &[ActionSpec]) -> Vec<Option<&str>> {
    actions.iter().map(|a| a.build.as_deref()).collect()
}

#[test]
fn highest_priority_detection_wins() -> std::io::Result<()> {
    let t = setup(&[
        ("packages/p/both/build.sh", ""),
        ("packages/p/both/package.json", "{}"),
        ("packages/p/npm/package.json", "{}"),
        ("packages/p/plain/index.js", ""),
    ])?;
    let actions = plan(
        t.path(),
        vec![
            dir_action("p", "both"),
            dir_action("p", "npm"),
            dir_action("p", "plain"),
        ],
        builders(),
        Flags::default(),
    )
    .expect("plans");
    assert_eq!(
        kinds(&actions),
        [Some("build.sh"), Some("package.json"), Some("identify")]
    );
    Ok(())
}

#[test]
fn go_is_remote_by_default_unless_local_build() -> std::io::Result<()> {
    let t = setup(&[
        ("packages/p/godir/sub/main.go", ""),
        ("packages/p/godir/go.mod", ""),
        ("packages/p/local/main.go", ""),
        ("packages/p/single.go", ""),
    ])?;
    let mut local = dir_action("p", "local");
    local.local_build = Some(true);
    let single = ActionSpec {
        name: "single".into(),
        file: Some("packages/p/single.go".into()),
        runtime: Some("go:default".into()),
        ..ActionSpec::default()
    };
    let seq = ActionSpec {
        name: "seq".into(),
        sequence: Some(vec!["p/single".into()]),
        ..ActionSpec::default()
    };
    let actions = plan(
        t.path(),
        vec![dir_action("p", "godir"), local, single, seq],
        builders(),
        Flags::default(),
    )
    .expect("plans");
    assert_eq!(
        kinds(&actions),
        [
            Some("remote-default"),
            Some("identify"),
            Some("remote-default"),
            None
        ]
    );
    Ok(())
}

#[test]
fn real_builds_go_remote_on_request() -> std::io::Result<()> {
    let t = setup(&[
        ("packages/p/a/build.sh", ""),
        ("packages/p/b/build.sh", ""),
        ("packages/p/c/index.js", ""),
    ])?;
    let mut b = dir_action("p", "b");
    b.local_build = Some(true);
    let flags = Flags {
        remote_build: true,
        ..Flags::default()
    };
    let actions = plan(
        t.path(),
        vec![dir_action("p", "a"), b, dir_action("p", "c")],
        builders(),
        flags,
    )
    .expect("plans");
    assert_eq!(
        kinds(&actions),
        [Some("remote"), Some("build.sh"), Some("identify")]
    );

    let mut r = dir_action("p", "a");
    r.remote_build = Some(true);
    let actions = plan(t.path(), vec![r], builders(), Flags::default()).expect("plans");
    assert_eq!(actions[0].build.as_deref(), Some("remote"));
    Ok(())
}

#[test]
fn remote_and_local_together_is_an_error() -> std::io::Result<()> {
    let t = setup(&[("packages/p/a/index.js", "")])?;
    let mut a = dir_action("p", "a");
    a.remote_build = Some(true);
    a.local_build = Some(true);
    let err = plan(t.path(), vec![a], builders(), Flags::default()).expect_err("conflict");
    assert_eq!(
        err.to_string(),
        "Local and remote building cannot both be required (function a)"
    );
    Ok(())
}

#[test]
fn without_builders_the_readers_kind_stays() -> std::io::Result<()> {
    let t = setup(&[("packages/p/a/package.json", "{}"), ("lib/build.sh", "")])?;
    let mut a = dir_action("p", "a");
    a.build = Some(build_kind::PACKAGE_JSON.into());
    let mut p = project(vec![a]);
    p.lib_build = Some(build_kind::BUILD_SH.into());
    engine(Vec::new())
        .plan(
            &mut p,
            &DiskFiles::new(t.path()),
            &ReadContext::new(Flags::default()),
        )
        .expect("plans");
    assert_eq!(
        p.packages[0].actions[0].build.as_deref(),
        Some("package.json")
    );
    assert_eq!(p.lib_build.as_deref(), Some("build.sh"));
    Ok(())
}

#[test]
fn lib_is_detected_and_left_alone_when_the_reader_found_none() -> std::io::Result<()> {
    let t = setup(&[("lib/build.sh", "")])?;
    let ctx = ReadContext::new(Flags::default());
    let mut p = project(Vec::new());
    p.lib_build = Some(build_kind::IDENTIFY.into());
    engine(builders())
        .plan(&mut p, &DiskFiles::new(t.path()), &ctx)
        .expect("plans");
    assert_eq!(p.lib_build.as_deref(), Some("build.sh"));

    let mut p = project(Vec::new());
    engine(builders())
        .plan(&mut p, &DiskFiles::new(t.path()), &ctx)
        .expect("plans");
    assert_eq!(p.lib_build, None, "no lib/ in the structure, none planned");
    Ok(())
}

#[test]
fn unresolved_projects_are_not_planned() -> std::io::Result<()> {
    let t = setup(&[("packages/p/a/build.sh", "")])?;
    let mut p = project(vec![dir_action("p", "a")]);
    p.unresolved_variables = Some(vec!["X".into()]);
    engine(builders())
        .plan(
            &mut p,
            &DiskFiles::new(t.path()),
            &ReadContext::new(Flags::default()),
        )
        .expect("leaves it");
    assert_eq!(p.packages[0].actions[0].build.as_deref(), Some("identify"));
    Ok(())
}

#[test]
fn a_project_off_disk_is_planned_through_its_files() {
    let mut mem = MemFiles::default();
    for (path, text) in [
        ("packages/p/script/build.sh", ""),
        ("packages/p/script/main.go", ""),
        ("packages/p/go/sub/main.go", ""),
        ("packages/p/go/README", ""),
    ] {
        mem.0.insert(path.to_string(), text.as_bytes().to_vec());
    }
    let mut script = dir_action("p", "script");
    script.local_build = Some(true);
    let actions = plan_with(
        &mem,
        vec![script, dir_action("p", "go")],
        builders(),
        Flags::default(),
    )
    .expect("plans");
    // Runtime agreement walked the subdirectory: the Go function is remote by default.
    assert_eq!(kinds(&actions), [Some("build.sh"), Some("remote-default")]);
}

#[test]
fn fill_runtimes_uses_names_agreement_and_sequences() -> std::io::Result<()> {
    let t = setup(&[
        ("packages/p/a/z.js", ""),
        ("packages/p/a/b.js~", ""),
        ("packages/p/a/sub1/x.js", ""),
        ("packages/p/a/sub2/.git/config", ""),
        ("packages/p/mixed/a.js", ""),
        ("packages/p/mixed/b.py", ""),
        ("packages/p/one.py", ""),
    ])?;
    let file = |name: &str, file: &str| ActionSpec {
        name: name.into(),
        file: Some(file.into()),
        ..ActionSpec::default()
    };
    let mut p = project(vec![
        file("a", "packages/p/a"),
        file("mixed", "packages/p/mixed"),
        file("one", "packages/p/one.py"),
        ActionSpec {
            name: "seq".into(),
            sequence: Some(vec!["p/one".into()]),
            ..ActionSpec::default()
        },
        ActionSpec {
            name: "set".into(),
            file: Some("packages/p/one.py".into()),
            runtime: Some("python:3.11".into()),
            ..ActionSpec::default()
        },
    ]);
    engine(Vec::new()).fill_runtimes(
        &mut p,
        &DiskFiles::new(t.path()),
        &ReadContext::new(Flags::default()),
    );
    let runtimes: Vec<Option<&str>> = p.packages[0]
        .actions
        .iter()
        .map(|a| a.runtime.as_deref())
        .collect();
    assert_eq!(
        runtimes,
        [
            Some("nodejs:default"),
            None,
            Some("python:default"),
            Some(""),
            Some("python:3.11")
        ]
    );
    Ok(())
}

#[test]
fn the_tree_lists_files_first_then_subdirectories_and_excludes() -> std::io::Result<()> {
    let t = setup(&[
        ("a/z.js", ""),
        ("a/b.js~", ""),
        ("a/sub1/x.py", ""),
        ("a/sub2/y.go", ""),
        ("a/sub2/.git/config", ""),
    ])?;
    let files = DiskFiles::new(t.path());
    let listing = Listing::new(&files);
    let excluder = crate::Excluder::default();
    assert_eq!(
        listing.tree("a", &excluder),
        ["a/z.js", "a/sub2/y.go", "a/sub1/x.py"]
    );
    assert_eq!(listing.file_names("a", &excluder).expect("lists"), ["z.js"]);
    Ok(())
}

#[test]
fn a_project_off_disk_is_planned_but_not_built() {
    let mut mem = MemFiles::default();
    mem.0
        .insert("packages/p/script/build.sh".into(), Vec::new());
    let mut script = dir_action("p", "script");
    script.local_build = Some(true);
    let engine = engine(builders());
    let mut p = project(vec![script]);
    engine
        .plan(&mut p, &mem, &ReadContext::new(Flags::default()))
        .expect("plans");
    let mut ctx = BuildContext::new("/nowhere", Flags::default());
    ctx.files = Arc::new(mem);
    let reports = engine.build(&mut p, &ctx).expect("builds");
    assert_eq!(
        reports[0].outcome,
        crate::BuildOutcome::Failed(
            "Function 'p/script' has a 'build.sh' build, but its project is not in a directory on this machine; builders work in a directory, so the project's reader must give a local copy (ProjectReader::files returning DiskFiles)".into()
        )
    );
}
