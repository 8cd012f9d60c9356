//! The per-call cost of the shared-library plugin boundary: one builder, called 1,000 times
//! directly (a Rust trait call) and 1,000 times through the C ABI (request serialised to JSON,
//! parsed by the SDK, the context rebuilt, the reply serialised, copied, freed and parsed
//! back). The difference divided by 1,000 is the overhead of one call. A third measurement
//! does only the JSON work of those calls, to show how much of the overhead it is.
//!
//! The plugin is exported with `export_plugin!` into this binary and registered with
//! `load_linked`: the same declaration, checks, proxies and JSON as a library loaded with
//! `dlopen`, whose only extra cost is the one-time load.
//!
//! Run: `cargo bench -p sluice-plugin-abi --bench abi_boundary`.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use sluice_core::model::Dict;
use sluice_core::{
    ActionSpec, Artifact, BuildContext, BuildJob, BuildTarget, Builder, Detection, Flags, Registry,
    Result,
};

use sluice_plugin_abi::wire::{BuildContextWire, BuildJobWire, BuildRequest, Reply, Request};

const CALLS: usize = 1_000;

/// Does almost nothing, so what is measured is the boundary.
struct EchoBuilder;

impl Builder for EchoBuilder {
    fn name(&self) -> &str {
        "echo"
    }
    fn detect(&self, target: &BuildTarget<'_>) -> Option<Detection> {
        target.has_file("echo.txt").then(|| Detection {
            kind: "echo.txt".into(),
            priority: 40,
        })
    }
    fn build(&self, job: &BuildJob<'_>, _ctx: &BuildContext) -> Result<Option<Artifact>> {
        Ok(Some(Artifact {
            file: format!("{}.js", job.entity()),
            runtime: Some("nodejs:18".into()),
            binary: false,
            zipped: false,
            main: None,
            status: Default::default(),
        }))
    }
}

sluice_plugin_abi::export_plugin! {
    name: "bench-echo",
    version: "0.1.0",
    builder: EchoBuilder,
}

/// A typical function: a few parameters and annotations, a runtime, web on.
fn action() -> ActionSpec {
    let mut parameters = Dict::new();
    for (k, v) in [("region", "nyc1"), ("level", "info"), ("greeting", "hello")] {
        parameters.insert(k.into(), v.into());
    }
    ActionSpec {
        name: "hello".into(),
        file: Some("packages/demo/hello".into()),
        runtime: Some("nodejs:18".into()),
        parameters: Some(parameters.clone()),
        annotations: Some(parameters),
        build: Some("echo.txt".into()),
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let mut registry = Registry::new();
    sluice_plugin_abi::load_linked(
        &mut registry,
        sluice_plugin_declare,
        "bench-echo",
        &sluice_core::Silent,
    )
    .expect("the plugin loads");
    let through_abi: Arc<dyn Builder> = registry.builders().pop().expect("the plugin's builder");
    let direct: Arc<dyn Builder> = Arc::new(EchoBuilder);
    let ctx = BuildContext::new("/tmp/project", Flags::default());
    let action = action();
    let job = BuildJob::Action {
        package: "demo",
        action: &action,
    };

    let mut group = c.benchmark_group("builder x1000");
    group.sample_size(20);
    for (label, builder) in [("direct", &direct), ("through the C ABI", &through_abi)] {
        group.bench_function(label, |b| {
            b.iter(|| {
                for _ in 0..CALLS {
                    let artifact = builder.build(&job, &ctx).expect("builds");
                    std::hint::black_box(artifact);
                }
            })
        });
    }
    // The JSON part alone: the request and reply as the boundary writes and reads them.
    group.bench_function("JSON of request and reply only", |b| {
        b.iter(|| {
            for _ in 0..CALLS {
                let request = Request::new(BuildRequest {
                    job: BuildJobWire::from_job(&job),
                    context: BuildContextWire::from_context(&ctx),
                });
                let bytes = serde_json::to_vec(&request).expect("serializes");
                let parsed = Request::<BuildRequest>::parse(&bytes).expect("parses");
                let artifact = EchoBuilder
                    .build(&parsed.body.job.as_job(), &ctx)
                    .expect("builds");
                let reply = serde_json::to_vec(&Reply::ok(artifact)).expect("serializes");
                let back = Reply::<Option<Artifact>>::parse(&reply).expect("parses");
                std::hint::black_box(back);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
