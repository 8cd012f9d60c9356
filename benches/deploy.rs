//! Deploy of 1,000 single-file functions (10 packages × 100) to a loopback OpenWhisk server,
//! through the real client and deployer (`sluice-openwhisk`), with the default request
//! bound (`--deploy-jobs 25`).
//!
//! Besides the time, it prints how many requests one deploy sends and how many the original
//! deployer sends for the same project: two per action (`GET ?code=false` + `PUT`) and two
//! per package (`GET` + `PUT`). Run with `cargo bench --bench deploy`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use sluice_core::{
    ActionSpec, Credentials, DeployContext, DeployStructure, Deployer, DeployerAnnotation, Flags,
    OwOptions, PackageSpec, Target, WebSetting,
};
use sluice_openwhisk::OpenWhiskDeployer;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PACKAGES: usize = 10;
const PER_PACKAGE: usize = 100;

/// Answers every request like a controller that accepts everything, and counts them.
struct Counting {
    count: Arc<AtomicUsize>,
    delay: Duration,
}

impl Respond for Counting {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        self.count.fetch_add(1, Ordering::Relaxed);
        let body = if req.method.as_str() == "GET" {
            return ResponseTemplate::new(404)
                .set_body_json(json!({"error": "The requested resource does not exist."}))
                .set_delay(self.delay);
        } else {
            json!({"namespace": "bench", "version": "0.0.1"})
        };
        ResponseTemplate::new(200)
            .set_body_json(body)
            .set_delay(self.delay)
    }
}

fn project(dir: &std::path::Path) -> DeployStructure {
    let packages = (0..PACKAGES)
        .map(|p| {
            let actions = (0..PER_PACKAGE)
                .map(|a| {
                    let file = dir.join(format!("p{p}_f{a}.js"));
                    std::fs::write(
                        &file,
                        format!("function main() {{ return {{ body: {a} }} }}\n"),
                    )
                    .expect("write a function");
                    ActionSpec {
                        name: format!("f{a}"),
                        file: Some(file.display().to_string()),
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

fn bench_deploy(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let project = project(dir.path());
    let mut group = c.benchmark_group("deploy_1000_functions");
    group.sample_size(10);
    for (label, delay) in [
        ("loopback", Duration::ZERO),
        ("loopback_2ms_latency", Duration::from_millis(2)),
    ] {
        let count = Arc::new(AtomicUsize::new(0));
        let server = runtime.block_on(async {
            let server = MockServer::builder()
                .disable_request_recording()
                .start()
                .await;
            Mock::given(any())
                .respond_with(Counting {
                    count: count.clone(),
                    delay,
                })
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
        let ctx = DeployContext::new(Flags::default(), Some(credentials.clone()));
        let target = Target::new(server.uri(), "bench", credentials);
        let deployer = OpenWhiskDeployer::new();

        let deploy_once = || {
            let response = runtime
                .block_on(deployer.deploy(&ctx, &target, &project))
                .expect("the deploy runs");
            assert!(
                response.failures.is_empty(),
                "{:?}",
                response.failures.first()
            );
            assert_eq!(response.successes.len(), PACKAGES * PER_PACKAGE);
        };
        count.store(0, Ordering::Relaxed);
        deploy_once();
        let sent = count.load(Ordering::Relaxed);
        let original = 2 * PACKAGES * PER_PACKAGE + 2 * PACKAGES;
        eprintln!(
            "{label}: one deploy of {} functions in {PACKAGES} packages sent {sent} requests; the original deployer sends {original}",
            PACKAGES * PER_PACKAGE
        );
        group.bench_function(label, |b| b.iter(deploy_once));
    }
    group.finish();
}

criterion_group!(benches, bench_deploy);
criterion_main!(benches);
