//! Invoke latency of the local namespace: 200 sequential blocking invokes of a trivial node
//! function over HTTP (the embedded server on 127.0.0.1, sluice's OpenWhisk client with a
//! pooled connection), reporting the median, the 90th percentile and the extremes. The first
//! invoke is a cold start (node is spawned and the code loaded); the rest reuse the warm
//! process.
//!
//! Run: `cargo bench --bench invoke`. A plain timing loop, not criterion: the question is the
//! distribution of one fixed series of 200 requests, not a per-iteration estimate.

use std::time::{Duration, Instant};

use serde_json::json;
use sluice_local::EmbeddedServer;
use sluice_local::store::{Action, ActionLimits, Exec, actions};
use sluice_openwhisk::{Client, TransportOptions};

const INVOKES: usize = 200;

fn main() {
    let dir = tempfile::tempdir().expect("data dir");
    let prepared = sluice_local::server::prepare(dir.path()).expect("prepare data dir");
    let action = Action {
        namespace: "local".into(),
        name: "trivial".into(),
        version: "0.0.1".into(),
        publish: false,
        exec: Exec {
            kind: "nodejs:20".into(),
            code: Some("function main(args) { return { n: args.n }; }".into()),
            image: None,
            main: None,
            components: None,
            binary: Some(false),
        },
        parameters: vec![],
        annotations: vec![],
        limits: ActionLimits::default(),
        updated: 1,
    };
    prepared
        .store
        .with(|c| actions::put(c, &action))
        .expect("store the action");
    let server = EmbeddedServer::start(dir.path()).expect("start the local namespace");
    let client =
        Client::new(&server.apihost, server.auth(), &TransportOptions::default()).expect("client");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut url = client.entity_url("actions", "trivial");
    url.query_pairs_mut().append_pair("blocking", "true");

    let mut times: Vec<Duration> = Vec::with_capacity(INVOKES);
    runtime.block_on(async {
        for n in 0..INVOKES {
            let started = Instant::now();
            let activation = client
                .post(url.clone(), &json!({ "n": n }))
                .await
                .expect("invoke");
            times.push(started.elapsed());
            assert_eq!(activation["response"]["result"], json!({ "n": n }));
        }
    });
    drop(server);

    let cold = times[0];
    let mut sorted = times.clone();
    sorted.sort();
    let pick = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    let total: Duration = times.iter().sum();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("invoke: {INVOKES} sequential blocking invokes of a trivial nodejs:20 function");
    println!("  median  {:8.2} ms", ms(pick(0.5)));
    println!("  p90     {:8.2} ms", ms(pick(0.9)));
    println!("  min     {:8.2} ms", ms(sorted[0]));
    println!("  max     {:8.2} ms", ms(sorted[sorted.len() - 1]));
    println!("  mean    {:8.2} ms", ms(total / INVOKES as u32));
    println!("  first (cold start) {:8.2} ms", ms(cold));
}
