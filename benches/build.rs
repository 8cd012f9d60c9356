//! How long building takes:
//!
//! * `autozip_2000_files`: the finder turning one function directory of 2,000 small files
//!   (in 40 subdirectories) into a reproducible `__deployer__.zip` (listing, `.ignore`
//!   matching, zipping).
//! * `build_200_functions_jobs_2`: the engine building a project of 200 directory functions
//!   (5 files each, zipped) with `--build-jobs 2`, read once with the file-system reader.
//!
//! Run: `cargo bench --bench build`.

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use sluice_core::{
    ActionSpec, BuildContext, Builder, Engine, Flags, Origin, ReadContext, Registry,
};

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create directories");
    }
    std::fs::write(path, text).expect("write a file");
}

fn autozip(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = tmp.path().join("packages/big/fn");
    for i in 0..2000 {
        write(
            &dir.join(format!("mod{:02}/file{i:04}.js", i % 40)),
            &format!("exports.value{i} = {i}\n// a small module of the function\n"),
        );
    }
    write(&dir.join("index.js"), "exports.main = () => ({})\n");
    write(&dir.join(".ignore"), "*.md\n/tmp/\n");
    let action = ActionSpec {
        name: "fn".into(),
        file: Some("packages/big/fn".into()),
        ..Default::default()
    };
    let ctx = BuildContext::new(tmp.path(), Flags::default());
    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    group.bench_function("autozip_2000_files", |b| {
        b.iter(|| sluice_core::identify("big", &action, &ctx).expect("zip"));
    });
    group.finish();
}

fn project_of_200(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let root = tmp.path();
    write(&root.join("project.yml"), "packages: []\n");
    for f in 0..200 {
        let dir = root.join(format!("packages/pkg{:02}/fn{f:03}", f % 10));
        write(
            &dir.join("index.js"),
            "exports.main = () => ({ body: require('./lib/a').a })\n",
        );
        write(&dir.join("lib/a.js"), "exports.a = 'a'\n");
        write(&dir.join("lib/b.js"), "exports.b = 'b'\n");
        write(&dir.join("data.json"), "{\"answer\": 42}\n");
        write(&dir.join("README.md"), "Notes\n");
    }

    let mut registry = Registry::new();
    let finder: Arc<dyn Builder> = Arc::new(sluice_core::Finder);
    registry
        .add_reader(Arc::new(sluice_fs_reader::FsReader), Origin::BuiltIn, false)
        .expect("reader");
    registry
        .add_builder(finder, Origin::BuiltIn, false)
        .expect("finder");
    registry
        .add_builder(
            Arc::new(sluice_script_builder::ScriptBuilder),
            Origin::BuiltIn,
            false,
        )
        .expect("script");
    registry
        .add_builder(
            Arc::new(sluice_npm_builder::NpmBuilder),
            Origin::BuiltIn,
            false,
        )
        .expect("npm");
    let engine = Engine::new(registry);
    let location = root.display().to_string();
    let project = engine
        .read(&location, &ReadContext::new(Flags::default()))
        .expect("read the project");
    assert_eq!(project.actions().count(), 200);

    let flags = Flags {
        build_jobs: Some(2),
        ..Flags::default()
    };
    let ctx = BuildContext::new(root, flags);
    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    group.bench_function("build_200_functions_jobs_2", |b| {
        b.iter(|| {
            let mut p = project.clone();
            let reports = engine.build(&mut p, &ctx).expect("build");
            assert_eq!(reports.len(), 200);
        });
    });
    group.finish();
}

criterion_group!(benches, autozip, project_of_200);
criterion_main!(benches);
