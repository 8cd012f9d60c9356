//! What Lua hooks cost on a large project (1,000 functions in 10 packages):
//!
//! * `load_and_read_after_1000_functions`: start the hooks thread and Lua state, load a hook
//!   file, pass the project to `read:after` (Rust → Lua tables), let the handler set a
//!   parameter and an annotation on every function, and take the edited project back
//!   (Lua → Rust) — the whole overhead hooks add to reading such a project.
//! * `read_after_1000_functions`: the same `read:after` call on hooks already loaded.
//! * `build_before_1000_calls`: 1,000 `build:before` calls (one per function) that return
//!   `nil`, the per-function cost of having a build hook.
//!
//! Run: `cargo bench --bench hooks`.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use sluice_core::{ActionSpec, DeployStructure, Hooks, PackageSpec, Silent};
use sluice_hooks::{HookEnv, LuaHooks};

const HOOK: &str = r#"
local sluice = require("sluice")

sluice.on("read:after", function(project)
  for _, package in ipairs(project.packages) do
    for _, fn in ipairs(package.functions) do
      fn.parameters = fn.parameters or {}
      fn.parameters.stage = "bench"
      fn.annotations = fn.annotations or {}
      fn.annotations.owner = package.name
    end
  end
  return project
end)

sluice.on("build:before", function(fn, ctx)
  if fn.name == "never" then return false end
end)
"#;

fn project() -> DeployStructure {
    let packages = (0..10)
        .map(|p| PackageSpec {
            name: format!("pkg{p}"),
            actions: (0..100)
                .map(|a| ActionSpec {
                    name: format!("fn{a}"),
                    file: Some(format!("packages/pkg{p}/fn{a}.js")),
                    runtime: Some("nodejs:18".into()),
                    web: Some(sluice_core::WebSetting::On),
                    parameters: json!({"greeting": "hello", "count": a})
                        .as_object()
                        .cloned(),
                    limits: Some(sluice_core::Limits {
                        timeout: Some(3000.into()),
                        memory: Some(256.into()),
                        logs: None,
                    }),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    DeployStructure {
        packages,
        ..Default::default()
    }
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary project");
    std::fs::write(dir.path().join("stamp.lua"), HOOK).expect("write the hook");
    let files = vec!["stamp.lua".to_string()];
    let env = || HookEnv::new(Arc::new(Silent));
    let input = project();
    assert_eq!(input.actions().count(), 1_000);

    c.bench_function("load_and_read_after_1000_functions", |b| {
        b.iter(|| {
            let hooks = LuaHooks::load(dir.path(), &files, &[], env()).expect("load");
            let out = hooks.read_after(input.clone()).expect("read:after");
            assert!(out.packages[9].actions[99].annotations.is_some());
            out
        })
    });

    let hooks = LuaHooks::load(dir.path(), &files, &[], env()).expect("load");
    c.bench_function("read_after_1000_functions", |b| {
        b.iter(|| hooks.read_after(input.clone()).expect("read:after"))
    });

    c.bench_function("build_before_1000_calls", |b| {
        b.iter(|| {
            for (package, action) in input.actions() {
                hooks
                    .build_before(&package.name, action)
                    .expect("build:before");
            }
        })
    });
}

criterion_group! {
    name = hooks_benches;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(hooks_benches);
