//! How long reading a big project takes: 1,000 functions in 20 packages (per package 45
//! single-file functions and 5 directory functions, half of them npm), with a project.yml that
//! configures every package and a tenth of the functions.
//!
//! Three measurements: the library calls `get-metadata` makes (the reader's manifest for the
//! plugin loader, the full read, the runtime filling), the same plus the pretty JSON it
//! prints, and the whole `sluice get-metadata` process (start-up and printing included).
//!
//! A second group reads pathological project.yml files just under 1 MiB (deep nesting, an
//! alias bomb, 75k keys, a 1 MiB string): each must be read or refused well within a second.
//!
//! Run: `cargo bench --bench get_metadata` (`-- pathological` for the second group alone).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use sluice_core::ops::{MetadataOptions, Session, metadata};
use sluice_core::{Builder, DeployStructure, Engine, Flags, Origin, Registry, Silent};

const PACKAGES: usize = 20;
const FILES_PER_PACKAGE: usize = 45;
const DIRS_PER_PACKAGE: usize = 5;

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create directories");
    }
    std::fs::write(path, text).expect("write a file");
}

/// Writes the project and returns the number of functions in it.
fn generate(root: &Path) -> usize {
    let mut yml = String::from("parameters:\n  region: nyc1\npackages:\n");
    let mut count = 0;
    for p in 0..PACKAGES {
        let pkg = format!("pkg{p:02}");
        let _ = write!(
            yml,
            "  - name: {pkg}\n    environment:\n      LEVEL: info\n    functions:\n"
        );
        for f in 0..FILES_PER_PACKAGE {
            let name = format!("fn{f:02}");
            write(
                &root.join(format!("packages/{pkg}/{name}.js")),
                "function main(args) {\n  return { body: args }\n}\nexports.main = main\n",
            );
            if f % 10 == 0 {
                let _ = write!(
                    yml,
                    "      - name: {name}\n        runtime: nodejs:18\n        limits:\n          timeout: 3000\n"
                );
            }
            count += 1;
        }
        for d in 0..DIRS_PER_PACKAGE {
            let dir = root.join(format!("packages/{pkg}/dir{d}"));
            write(&dir.join("index.js"), "exports.main = () => ({})\n");
            write(&dir.join("lib/util.js"), "module.exports = {}\n");
            if d % 2 == 0 {
                write(&dir.join("package.json"), "{\"name\": \"x\"}\n");
            }
            count += 1;
        }
    }
    write(&root.join("project.yml"), &yml);
    count
}

/// The built-in reader and builders, as the CLI registers them.
fn engine() -> Engine {
    let mut registry = Registry::new();
    registry
        .add_reader(Arc::new(sluice_fs_reader::FsReader), Origin::BuiltIn, false)
        .expect("a reader");
    for b in builders() {
        registry
            .add_builder(b, Origin::BuiltIn, false)
            .expect("a builder");
    }
    Engine::new(registry)
}

fn builders() -> Vec<Arc<dyn Builder>> {
    vec![
        Arc::new(sluice_core::Finder),
        Arc::new(sluice_script_builder::ScriptBuilder),
        Arc::new(sluice_npm_builder::NpmBuilder),
        Arc::new(sluice_go_builder::GoBuilder),
        Arc::new(sluice_python_builder::PythonBuilder),
    ]
}

fn bench(c: &mut Criterion) {
    let temp = tempfile::tempdir().expect("a temporary directory");
    let root = temp.path().join("big");
    let functions = generate(&root);
    assert_eq!(functions, 1000);
    let location = root.display().to_string();

    let check = engine()
        .read(&location, &sluice_core::ReadContext::new(Flags::default()))
        .expect("the project reads");
    assert_eq!(check.actions().count(), 1000);

    // What `get-metadata` runs, in its order: the manifest (plugins:, hooks:) for the plugin
    // loader, then the metadata op (the engine's read and plan, the runtime filling).
    let session = Session::new(engine(), Default::default(), None, Arc::new(Silent));
    let options = MetadataOptions::new(&location, Flags::default());
    let get_metadata = || -> DeployStructure {
        let manifest = session.manifest(&location).expect("manifest");
        assert!(manifest.plugins.is_empty());
        metadata::metadata(&session, &options).expect("reads")
    };
    c.bench_function("get-metadata read 1000 functions", |b| b.iter(get_metadata));
    c.bench_function("get-metadata read + JSON 1000 functions", |b| {
        b.iter(|| {
            serde_json::to_string_pretty(&get_metadata())
                .expect("JSON")
                .len()
        });
    });

    let exe = env!("CARGO_BIN_EXE_sluice");
    c.bench_function("sluice get-metadata 1000 functions (process)", |b| {
        b.iter(|| {
            let out = Command::new(exe)
                .args(["get-metadata", &location])
                .env("SLUICE_HOME", temp.path().join("home"))
                .output()
                .expect("sluice runs");
            assert!(out.status.success());
            out.stdout.len()
        });
    });
}

/// Just under 1 MiB of project.yml: what must never take a second to read or refuse.
const PATHOLOGICAL_SIZE: usize = 1024 * 1024 - 64;

/// Pathological project.yml texts (issue 14 item 6): deep flow nesting once took minutes.
fn pathological() -> Vec<(&'static str, String)> {
    let n = PATHOLOGICAL_SIZE;
    let aliases = {
        let mut t = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            let _ = writeln!(t, "a{i}: &a{i} [{refs}]");
        }
        t.push_str("parameters: {p: *a9}\n");
        t
    };
    let mut keys = String::from("parameters:\n");
    let mut i = 0;
    while keys.len() < n {
        let _ = writeln!(keys, "  k{i}: v{i}");
        i += 1;
    }
    let mut nested = String::new();
    let mut depth = 0;
    while nested.len() < n && depth < 120 {
        let _ = writeln!(nested, "{}a:", " ".repeat(depth));
        depth += 1;
    }
    vec![
        ("100k-deep [", format!("a: {}", "[".repeat(n - 3))),
        ("100k-deep {", format!("a: {}", "{".repeat(n - 3))),
        ("dashes on one line", "- ".repeat(n / 2)),
        ("alias bomb", aliases),
        ("75k parameters", keys),
        ("1 MiB string", format!("a: \"{}\"\n", "x".repeat(n - 10))),
        ("120-deep blocks", nested),
        ("1 MiB of ${", "${".repeat(n / 2)),
        // Each directive once rescanned the rest of the text (quadratic: 150k took > 20 s).
        (
            "200k ${A} in one value",
            format!("parameters:\n  big: \"{}\"\n", "${A}".repeat((n - 32) / 4)),
        ),
    ]
}

/// The reader alone on each pathological project.yml (errors are the expected outcome for
/// most; the figure is how long it takes to get there).
fn bench_pathological(c: &mut Criterion) {
    let temp = tempfile::tempdir().expect("a temporary directory");
    let mut group = c.benchmark_group("pathological project.yml (just under 1 MiB)");
    group.sample_size(10);
    for (name, text) in pathological() {
        let dir = temp.path().join(name.replace([' ', '{', '[', '$'], "_"));
        write(&dir.join("project.yml"), &text);
        let location = dir.display().to_string();
        let ctx = sluice_core::ReadContext::new(Flags::default());
        group.bench_function(name, |b| {
            b.iter(|| sluice_fs_reader::read_project(&location, &ctx).is_ok());
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench, bench_pathological
}
criterion_main!(benches);
