//! `plan`, and a no-op verified `--incremental` deploy, of 1,000 functions (10 packages × 100)
//! against a loopback controller that keeps what it is sent, through the real deployer
//! (`sluice-openwhisk`). Prints the requests each sends besides the time. Run with
//! `cargo bench --bench plan`.
//!
//! The deployer's calls are measured: the command adds the controller-info read (runtimes)
//! and the namespace check of `prepare`, two requests in all.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use sluice_core::{
    ActionSpec, Credentials, DeployContext, DeployStructure, Deployer, DeployerAnnotation, Flags,
    OwOptions, PackageSpec, Target, WebSetting,
};
use sluice_openwhisk::OpenWhiskDeployer;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PACKAGES: usize = 10;
const PER_PACKAGE: usize = 100;

/// A controller that stores PUTs (bumping versions), answers GETs of packages with their
/// actions, and counts requests.
#[derive(Clone, Default)]
struct Store {
    entities: Arc<Mutex<BTreeMap<String, Value>>>,
    count: Arc<AtomicUsize>,
}

impl Respond for Store {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        self.count.fetch_add(1, Ordering::Relaxed);
        let path = req.url.path().trim_start_matches("/api/v1/namespaces/_/");
        let Ok(mut entities) = self.entities.lock() else {
            return ResponseTemplate::new(500);
        };
        match req.method.as_str() {
            "PUT" => {
                let mut body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                let version = entities
                    .get(path)
                    .and_then(|e| e["version"].as_str())
                    .map(|v| format!("{v}.1"))
                    .unwrap_or_else(|| "0.0.1".into());
                body["version"] = json!(version);
                body["namespace"] = json!("bench");
                body["name"] = json!(path.rsplit('/').next().unwrap_or(path));
                entities.insert(path.to_string(), body.clone());
                ResponseTemplate::new(200).set_body_json(body)
            }
            "GET" => match entities.get(path) {
                Some(found) => {
                    let mut found = found.clone();
                    if let Some(pkg) = path.strip_prefix("packages/") {
                        let prefix = format!("actions/{pkg}/");
                        found["actions"] = entities
                            .iter()
                            .filter(|(k, _)| k.starts_with(&prefix))
                            .map(|(_, a)| {
                                json!({"name": a["name"], "version": a["version"],
                                       "annotations": a["annotations"]})
                            })
                            .collect();
                    }
                    ResponseTemplate::new(200).set_body_json(found)
                }
                None => ResponseTemplate::new(404)
                    .set_body_json(json!({"error": "The requested resource does not exist."})),
            },
            _ => ResponseTemplate::new(405),
        }
    }
}

fn project(dir: &std::path::Path) -> DeployStructure {
    let packages = (0..PACKAGES)
        .map(|p| {
            let actions = (0..PER_PACKAGE)
                .map(|a| {
                    let file = format!("p{p}_f{a}.js");
                    std::fs::write(
                        dir.join(&file),
                        format!("function main() {{ return {{ body: {a} }} }}\n"),
                    )
                    .expect("write a function");
                    ActionSpec {
                        name: format!("f{a}"),
                        file: Some(file),
                        runtime: Some("nodejs:18".into()),
                        binary: Some(false),
                        zipped: Some(false),
                        web: Some(WebSetting::On),
                        ..Default::default()
                    }
                })
                .collect();
            PackageSpec {
                name: format!("p{p}"),
                shared: Some(false),
                actions,
                ..Default::default()
            }
        })
        .collect();
    DeployStructure {
        packages,
        deployer_annotation: Some(DeployerAnnotation {
            user: Some("bench".into()),
            project_path: "/bench".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn bench_plan(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let project = project(dir.path());
    let store = Store::default();
    let server = runtime.block_on(async {
        let server = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        Mock::given(any())
            .respond_with(store.clone())
            .mount(&server)
            .await;
        server
    });
    let credentials = Credentials {
        namespace: Some("bench".into()),
        ow: OwOptions {
            apihost: server.uri(),
            api_key: "u:k".into(),
            ignore_certs: false,
        },
        do_token: None,
    };
    let context = |incremental: bool| {
        let flags = Flags {
            incremental,
            ..Default::default()
        };
        let mut ctx = DeployContext::new(flags, Some(credentials.clone()));
        ctx.project_dir = Some(dir.path().to_path_buf());
        ctx
    };
    let target = Target::new(server.uri(), "bench", credentials.clone());
    let deployer = OpenWhiskDeployer::new();
    // The first deploy sends everything and records the versions.
    let first = runtime
        .block_on(deployer.deploy(&context(false), &target, &project))
        .expect("the first deploy runs");
    assert!(first.failures.is_empty(), "{:?}", first.failures.first());

    let plan_ctx = context(false);
    let plan_once = || {
        let plan = runtime
            .block_on(deployer.plan(&plan_ctx, &target, &project, false))
            .expect("the plan is made");
        assert!(!plan.has_changes(), "nothing changed");
        assert_eq!(plan.counts.unchanged, PACKAGES * PER_PACKAGE + PACKAGES);
    };
    let deploy_ctx = context(true);
    let deploy_once = || {
        let response = runtime
            .block_on(deployer.deploy(&deploy_ctx, &target, &project))
            .expect("the deploy runs");
        assert!(response.failures.is_empty());
        assert!(response.successes.iter().all(|s| s.skipped));
    };
    for (label, once) in [
        ("plan", &plan_once as &dyn Fn()),
        ("no-op verified --incremental deploy", &deploy_once),
    ] {
        store.count.store(0, Ordering::Relaxed);
        once();
        eprintln!(
            "{label} of {} functions in {PACKAGES} packages: {} requests",
            PACKAGES * PER_PACKAGE,
            store.count.load(Ordering::Relaxed)
        );
    }
    let mut group = c.benchmark_group("plan_1000_functions");
    group.sample_size(20);
    group.bench_function("plan", |b| b.iter(plan_once));
    group.bench_function("noop_verified_incremental_deploy", |b| b.iter(deploy_once));
    group.finish();
}

criterion_group!(benches, bench_plan);
criterion_main!(benches);
