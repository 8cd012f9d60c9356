//! A fake OpenWhisk controller and DigitalOcean triggers API on 127.0.0.1 for the deploy
//! tests: a wiremock server whose responder keeps entities in memory (so clashes and
//! versions behave like a controller), injects faults ([`Faults`]: a status to every n-th
//! or to a pseudo-random share of entity requests, `Retry-After`, a failing namespace check,
//! latency), counts the `PUT`s that landed, and records every request for snapshots.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The namespace the fake controller answers for.
pub const NAMESPACE: &str = "test-ns";
/// The key the tests use (`uuid:key`).
pub const AUTH: &str = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:testkey";

#[derive(Default)]
struct State {
    /// "actions/<pkg/name>" or "packages/<name>" → stored entity.
    entities: BTreeMap<String, Value>,
    triggers: BTreeMap<String, Value>,
}

/// What the fake controller does wrong.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The status of an injected failure (503 when 0).
    pub status: u16,
    /// Fail every n-th entity request (0 = never).
    pub every: usize,
    /// Fail this share (0–100) of entity requests, pseudo-randomly (seeded, so a run is
    /// repeatable in distribution but not in order, as concurrency decides the order).
    pub percent: u32,
    /// Inject only into `PUT`s.
    pub only_puts: bool,
    /// The `Retry-After` (seconds) of injected failures.
    pub retry_after: Option<u64>,
    /// Answer 500 to the first n `GET /api/v1/namespaces`.
    pub namespace_failures: usize,
    /// Delay of every entity answer.
    pub latency: Duration,
}

impl Faults {
    /// `percent` % of entity requests answered with `status`.
    pub fn share(status: u16, percent: u32) -> Self {
        Faults {
            status,
            percent,
            ..Default::default()
        }
    }
}

struct Controller {
    state: Arc<Mutex<State>>,
    counter: Arc<AtomicUsize>,
    faults: Faults,
    /// Answer 500 to `GET /api/v1` (no runtime table).
    broken_info: bool,
    random: AtomicU64,
    namespace_checks: AtomicUsize,
    /// `PUT`s that changed the store, by key.
    puts: Arc<Mutex<Vec<String>>>,
}

fn error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": message, "code": "test"}))
}

fn bump(version: Option<&Value>) -> String {
    let v = version.and_then(Value::as_str).unwrap_or("0.0.0");
    let mut parts: Vec<u64> = v.split('.').filter_map(|p| p.parse().ok()).collect();
    parts.resize(3, 0);
    parts[2] += 1;
    format!("{}.{}.{}", parts[0], parts[1], parts[2])
}

impl Controller {
    fn entity(&self, req: &Request, collection: &str, name: &str) -> ResponseTemplate {
        let Ok(mut state) = self.state.lock() else {
            return error(500, "poisoned");
        };
        let key = format!("{collection}/{name}");
        match req.method.as_str() {
            "GET" => match state.entities.get(&key) {
                Some(e) if collection == "packages" => {
                    // A controller lists a package's actions (name, version, annotations).
                    let prefix = format!("actions/{name}/");
                    let actions: Vec<Value> = state
                        .entities
                        .iter()
                        .filter(|(k, _)| k.starts_with(&prefix))
                        .map(|(_, a)| {
                            json!({"name": a["name"], "version": a["version"],
                                   "annotations": a.get("annotations").cloned().unwrap_or(json!([]))})
                        })
                        .collect();
                    let mut e = e.clone();
                    e["actions"] = Value::Array(actions);
                    ResponseTemplate::new(200).set_body_json(e)
                }
                Some(e) => ResponseTemplate::new(200).set_body_json(e),
                None => error(404, "The requested resource does not exist."),
            },
            "DELETE" => match state.entities.remove(&key) {
                Some(e) => ResponseTemplate::new(200).set_body_json(e),
                None => error(404, "The requested resource does not exist."),
            },
            "PUT" => {
                let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                let (pkg, short) = match name.split_once('/') {
                    Some((p, a)) => (Some(p), a),
                    None => (None, name),
                };
                let other = if collection == "actions" {
                    "packages"
                } else {
                    "actions"
                };
                if pkg.is_none() && state.entities.contains_key(&format!("{other}/{name}")) {
                    return error(
                        409,
                        "Resource by this name exists but is not in this collection.",
                    );
                }
                if let Some(p) = pkg
                    && !state.entities.contains_key(&format!("packages/{p}"))
                {
                    return error(404, "The requested resource does not exist.");
                }
                let old = state.entities.get(&key);
                let namespace = match pkg {
                    Some(p) => format!("{NAMESPACE}/{p}"),
                    None => NAMESPACE.to_string(),
                };
                let mut stored = body.clone();
                stored["namespace"] = json!(namespace);
                stored["name"] = json!(short);
                stored["version"] = json!(bump(old.and_then(|o| o.get("version"))));
                state.entities.insert(key.clone(), stored.clone());
                if let Ok(mut puts) = self.puts.lock() {
                    puts.push(key);
                }
                ResponseTemplate::new(200).set_body_json(stored)
            }
            _ => error(405, "method not allowed"),
        }
    }

    fn list(&self, collection: &str) -> ResponseTemplate {
        let Ok(state) = self.state.lock() else {
            return error(500, "poisoned");
        };
        let prefix = format!("{collection}/");
        let items: Vec<Value> = state
            .entities
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, v)| v.clone())
            .collect();
        ResponseTemplate::new(200).set_body_json(items)
    }

    fn triggers(&self, req: &Request, name: Option<&str>) -> ResponseTemplate {
        let Ok(mut state) = self.state.lock() else {
            return error(500, "poisoned");
        };
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if auth != "Bearer do-token" {
            return ResponseTemplate::new(401).set_body_json(
                json!({"id": "unauthorized", "message": "Unable to authenticate you"}),
            );
        }
        match (req.method.as_str(), name) {
            ("DELETE", Some(n)) => match state.triggers.remove(n) {
                Some(_) => ResponseTemplate::new(204),
                None => ResponseTemplate::new(404)
                    .set_body_json(json!({"id": "not_found", "message": "trigger not found"})),
            },
            ("POST", None) => {
                let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                let n = body
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                state.triggers.insert(n, body.clone());
                ResponseTemplate::new(200).set_body_json(json!({"trigger": body}))
            }
            ("GET", None) => {
                let all: Vec<Value> = state.triggers.values().cloned().collect();
                ResponseTemplate::new(200).set_body_json(json!({"triggers": all}))
            }
            _ => ResponseTemplate::new(405),
        }
    }
}

impl Controller {
    /// Whether to inject a failure into this entity request.
    fn inject(&self, req: &Request) -> bool {
        let f = &self.faults;
        if f.only_puts && req.method.as_str() != "PUT" {
            return false;
        }
        if f.every > 0 {
            let n = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
            return n.is_multiple_of(f.every);
        }
        if f.percent > 0 {
            // xorshift64*: enough for a fair coin, no dependency.
            let mut x = self.random.load(Ordering::SeqCst);
            loop {
                let mut next = x;
                next ^= next >> 12;
                next ^= next << 25;
                next ^= next >> 27;
                match self
                    .random
                    .compare_exchange(x, next, Ordering::SeqCst, Ordering::SeqCst)
                {
                    Ok(_) => {
                        let r = next.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33;
                        return (r % 100) < u64::from(f.percent);
                    }
                    Err(seen) => x = seen,
                }
            }
        }
        false
    }

    fn injected(&self) -> ResponseTemplate {
        let status = if self.faults.status == 0 {
            503
        } else {
            self.faults.status
        };
        let mut t = error(status, "injected fault");
        if let Some(secs) = self.faults.retry_after {
            t = t.insert_header("Retry-After", secs.to_string().as_str());
        }
        t
    }
}

impl Respond for Controller {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let answer = self.answer(req);
        if self.faults.latency.is_zero() {
            answer
        } else {
            answer.set_delay(self.faults.latency)
        }
    }
}

impl Controller {
    fn answer(&self, req: &Request) -> ResponseTemplate {
        let path = req.url.path().to_string();
        let segments: Vec<String> = path
            .trim_start_matches('/')
            .split('/')
            .map(percent_decode)
            .collect();
        let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
        if let ["v2", "functions", "namespaces", ns, "triggers", rest @ ..] = seg.as_slice() {
            if *ns != NAMESPACE {
                return ResponseTemplate::new(404);
            }
            return self.triggers(req, rest.first().copied());
        }
        match seg.as_slice() {
            ["api", "v1"] if self.broken_info => {
                return error(500, "Internal server error (injected)");
            }
            ["api", "v1"] => {
                return ResponseTemplate::new(200).set_body_json(json!({
                    "description": "fake OpenWhisk",
                    "runtimes": {
                        "nodejs": [{"kind": "nodejs:14", "default": true}, {"kind": "nodejs:18"}, {"kind": "nodejs-lambda:14"}],
                        "python": [{"kind": "python:3.9", "default": true}],
                    }
                }));
            }
            ["api", "v1", "namespaces"] => {
                if !authorized(req) {
                    return error(401, "The supplied authentication is invalid");
                }
                let n = self.namespace_checks.fetch_add(1, Ordering::SeqCst);
                if n < self.faults.namespace_failures {
                    return error(500, "Internal server error (injected)");
                }
                return ResponseTemplate::new(200).set_body_json(json!([NAMESPACE]));
            }
            _ => {}
        }
        if !authorized(req) {
            return error(401, "The supplied authentication is invalid");
        }
        if self.inject(req) {
            return self.injected();
        }
        match seg.as_slice() {
            ["api", "v1", "namespaces", "_", collection] => self.list(collection),
            ["api", "v1", "namespaces", "_", collection, rest @ ..] if !rest.is_empty() => {
                self.entity(req, collection, &rest.join("/"))
            }
            _ => error(404, "The requested resource does not exist."),
        }
    }
}

/// `Basic base64(AUTH)`.
const BASIC: &str = "Basic MjNiYzQ2YjEtNzFmNi00ZWQ1LThjNTQtODE2YWE0ZjhjNTAyOnRlc3RrZXk=";

fn authorized(req: &Request) -> bool {
    let expected = BASIC;
    req.headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A running fake controller (and triggers API) with its own runtime.
pub struct FakeWhisk {
    pub server: MockServer,
    runtime: tokio::runtime::Runtime,
    state: Arc<Mutex<State>>,
    puts: Arc<Mutex<Vec<String>>>,
}

impl FakeWhisk {
    /// Starts a well-behaved controller.
    pub fn start() -> Self {
        Self::with_faults(0)
    }

    /// Starts a controller that answers 503 to every `n`-th entity request.
    pub fn with_faults(fail_every: usize) -> Self {
        Self::faulty(Faults {
            every: fail_every,
            ..Default::default()
        })
    }

    /// Starts a controller with these faults.
    pub fn faulty(faults: Faults) -> Self {
        Self::build(faults, false)
    }

    /// Starts a controller whose `GET /api/v1` fails (no runtime table).
    pub fn without_runtimes() -> Self {
        Self::build(Faults::default(), true)
    }

    fn controller(
        state: Arc<Mutex<State>>,
        puts: Arc<Mutex<Vec<String>>>,
        faults: Faults,
        broken_info: bool,
    ) -> Controller {
        Controller {
            state,
            counter: Arc::new(AtomicUsize::new(0)),
            faults,
            broken_info,
            random: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
            namespace_checks: AtomicUsize::new(0),
            puts,
        }
    }

    fn build(faults: Faults, broken_info: bool) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let state = Arc::new(Mutex::new(State::default()));
        let puts = Arc::new(Mutex::new(Vec::new()));
        let controller = Self::controller(state.clone(), puts.clone(), faults, broken_info);
        let server = runtime.block_on(async {
            let server = MockServer::builder().start().await;
            Mock::given(any())
                .respond_with(controller)
                .mount(&server)
                .await;
            server
        });
        FakeWhisk {
            server,
            runtime,
            state,
            puts,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.runtime
            .block_on(self.server.received_requests())
            .unwrap_or_default()
    }

    /// Forgets the recorded requests (the stored entities stay).
    pub fn reset_requests(&self) {
        self.runtime.block_on(self.server.reset());
        if let Ok(mut puts) = self.puts.lock() {
            puts.clear();
        }
        let controller = Self::controller(
            self.state.clone(),
            self.puts.clone(),
            Faults::default(),
            false,
        );
        self.runtime.block_on(
            Mock::given(any())
                .respond_with(controller)
                .mount(&self.server),
        );
    }

    /// The keys (`actions/<name>`, `packages/<name>`) of the `PUT`s that landed, in order
    /// (since the start or the last [`FakeWhisk::reset_requests`]).
    pub fn landed_puts(&self) -> Vec<String> {
        self.puts.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// How many `PUT`s landed so far.
    pub fn landed_put_count(&self) -> usize {
        self.puts.lock().map(|p| p.len()).unwrap_or_default()
    }

    /// Every stored entity of a collection (`actions`, `packages`) with its version.
    pub fn versions(&self, collection: &str) -> BTreeMap<String, String> {
        let prefix = format!("{collection}/");
        self.state
            .lock()
            .map(|s| {
                s.entities
                    .iter()
                    .filter_map(|(k, v)| {
                        let name = k.strip_prefix(&prefix)?;
                        Some((name.to_string(), v["version"].as_str()?.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A stored entity (`actions/<name>` or `packages/<name>`).
    pub fn entity(&self, key: &str) -> Option<Value> {
        self.state.lock().ok()?.entities.get(key).cloned()
    }

    /// A stored trigger.
    pub fn trigger(&self, name: &str) -> Option<Value> {
        self.state.lock().ok()?.triggers.get(name).cloned()
    }

    /// Stores an entity directly (to set up clashes).
    pub fn put_entity(&self, key: &str, value: Value) {
        if let Ok(mut s) = self.state.lock() {
            s.entities.insert(key.to_string(), value);
        }
    }

    /// The entity requests (not `/api/v1` or `/api/v1/namespaces`), as a sorted JSON list of
    /// `{request, body}` for snapshots.
    pub fn entity_requests_json(&self) -> String {
        let mut items: Vec<(String, Value)> = self
            .requests()
            .iter()
            .filter(|r| {
                let p = r.url.path();
                p != "/api/v1" && p != "/api/v1/namespaces"
            })
            .map(|r| {
                let target = match r.url.query() {
                    Some(q) => format!("{} {}?{q}", r.method, r.url.path()),
                    None => format!("{} {}", r.method, r.url.path()),
                };
                let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                (target, body)
            })
            .collect();
        items.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| a.1.to_string().cmp(&b.1.to_string()))
        });
        let list: Vec<Value> = items
            .into_iter()
            .map(|(request, body)| {
                if body.is_null() {
                    json!({"request": request})
                } else {
                    json!({"request": request, "body": body})
                }
            })
            .collect();
        serde_json::to_string_pretty(&list).unwrap_or_default()
    }

    /// Method and path of each entity request in arrival order.
    pub fn request_lines(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.url.path()))
            .collect()
    }
}
