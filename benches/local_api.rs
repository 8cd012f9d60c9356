//! How fast the embedded local namespace answers the requests a deploy makes, through the same
//! `sluice-openwhisk` client `sluice deploy` uses: one action PUT (update), one GET, and a
//! burst of 100 concurrent PUTs; plus the bare store write underneath (no HTTP).
//!
//! Run: `cargo bench --bench local_api`.

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use sluice_local::EmbeddedServer;
use sluice_local::store::{Action, ActionLimits, Exec, actions, now_ms};
use sluice_openwhisk::{Client, TransportOptions};

fn action_body(i: usize) -> Value {
    json!({"exec": {"kind": "nodejs:18", "code": format!("function main() {{ return {{ n: {i} }} }}")}})
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary data dir");
    let server = EmbeddedServer::start(dir.path()).expect("start the local namespace");
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let options = TransportOptions {
        max_in_flight: 100,
        ..TransportOptions::default()
    };
    let client = Client::new(&server.apihost, server.auth(), &options).expect("client");
    let put_url = |name: &str| {
        let mut url = client.entity_url("actions", name);
        url.set_query(Some("overwrite=true"));
        url
    };
    runtime
        .block_on(client.put(put_url("one"), &action_body(0)))
        .expect("first PUT");

    c.bench_function("local_api: PUT one action (update)", |b| {
        b.iter(|| {
            runtime
                .block_on(client.put(put_url("one"), &action_body(1)))
                .expect("PUT")
        })
    });
    c.bench_function("local_api: GET one action", |b| {
        b.iter(|| {
            runtime
                .block_on(client.get(client.entity_url("actions", "one")))
                .expect("GET")
        })
    });
    let mut group = c.benchmark_group("local_api: 100 concurrent PUTs");
    group.sample_size(20);
    group.bench_function("distinct actions", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut puts = tokio::task::JoinSet::new();
                for i in 0..100 {
                    let (client, url, body) = (
                        client.clone(),
                        put_url(&format!("burst{i}")),
                        action_body(i),
                    );
                    puts.spawn(async move { client.put(url, &body).await });
                }
                while let Some(r) = puts.join_next().await {
                    r.expect("task").expect("PUT in a burst");
                }
            })
        })
    });
    group.finish();

    let store = sluice_local::server::prepare(dir.path())
        .expect("open the store")
        .store;
    c.bench_function("local_api: store write of one action (no HTTP)", |b| {
        b.iter(|| {
            let action = Action {
                namespace: "local".into(),
                name: "direct".into(),
                version: "0.0.1".into(),
                publish: false,
                exec: Exec {
                    kind: "nodejs:18".into(),
                    code: Some("function main() {}".into()),
                    image: None,
                    main: None,
                    components: None,
                    binary: Some(false),
                },
                parameters: vec![],
                annotations: vec![],
                limits: ActionLimits::default(),
                updated: now_ms(),
            };
            runtime
                .block_on(store.write(move |tx| actions::put(tx, &action)))
                .expect("store write")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
