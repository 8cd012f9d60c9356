//! The runner's HTTP API on a real embedded server (127.0.0.1): invoke (blocking, result,
//! timeout, non-blocking), activations, sequences, web actions and scheduled triggers.

use std::time::Duration;

use serde_json::{Value, json};
use sluice_local::EmbeddedServer;
use sluice_local::store::{
    Action, ActionLimits, DoTrigger, Exec, KeyValue, Package, ScheduledDetails, ScheduledRuns,
    Store, actions, do_triggers, packages,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Local {
    _dir: tempfile::TempDir,
    store: Store,
    server: EmbeddedServer,
    http: reqwest::Client,
}

impl Local {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("data dir");
        let prepared = sluice_local::server::prepare(dir.path()).expect("prepare data dir");
        let server = EmbeddedServer::start(dir.path()).expect("start server");
        Local {
            _dir: dir,
            store: prepared.store,
            server,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.apihost)
    }

    fn auth(&self) -> (String, String) {
        let (user, pass) = self.server.auth().split_once(':').expect("uuid:key");
        (user.to_string(), pass.to_string())
    }

    fn package(&self, name: &str, params: Value) {
        let p = Package {
            namespace: "local".into(),
            name: name.into(),
            version: "0.0.1".into(),
            publish: false,
            binding: None,
            parameters: kvs(params, false),
            annotations: vec![],
            updated: 1,
        };
        self.store
            .with(|c| packages::put(c, &p))
            .expect("store package");
    }

    fn action(&self, path: &str, exec: Exec, params: Vec<KeyValue>, annotations: Value) {
        let (namespace, name) = match path.split_once('/') {
            Some((pkg, name)) => (format!("local/{pkg}"), name.to_string()),
            None => ("local".to_string(), path.to_string()),
        };
        let a = Action {
            namespace,
            name,
            version: "0.0.1".into(),
            publish: false,
            exec,
            parameters: params,
            annotations: kvs(annotations, false),
            limits: ActionLimits {
                timeout: 3_000,
                ..ActionLimits::default()
            },
            updated: 1,
        };
        self.store
            .with(|c| actions::put(c, &a))
            .expect("store action");
    }

    fn node(&self, path: &str, code: &str, params: Vec<KeyValue>, annotations: Value) {
        self.action(path, code_exec("nodejs:20", code), params, annotations);
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Result<reqwest::Response> {
        let (user, pass) = self.auth();
        self.http
            .post(self.url(path))
            .basic_auth(user, Some(pass))
            .json(&body)
            .send()
            .await
    }

    async fn get(&self, path: &str) -> reqwest::Result<reqwest::Response> {
        let (user, pass) = self.auth();
        self.http
            .get(self.url(path))
            .basic_auth(user, Some(pass))
            .send()
            .await
    }

    /// The activation `id` once it ended (while it runs, its record says `running`).
    async fn wait_activation(&self, id: &str) -> Result<Value, Box<dyn std::error::Error>> {
        for _ in 0..100 {
            let resp = self
                .get(&format!("/api/v1/namespaces/_/activations/{id}"))
                .await?;
            if resp.status() == 200 {
                let a: Value = resp.json().await?;
                if a["response"]["status"] != json!("running") {
                    return Ok(a);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("activation {id} never appeared").into())
    }
}

fn kvs(v: Value, init: bool) -> Vec<KeyValue> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let mut kv = KeyValue::new(k.clone(), v.clone());
            if init {
                kv.extra.insert("init".into(), Value::Bool(true));
            }
            kv
        })
        .collect()
}

fn code_exec(kind: &str, code: &str) -> Exec {
    Exec {
        kind: kind.into(),
        code: Some(code.into()),
        image: None,
        main: None,
        components: None,
        binary: Some(false),
    }
}

fn sequence_exec(components: &[&str]) -> Exec {
    Exec {
        kind: "sequence".into(),
        code: None,
        image: None,
        main: None,
        components: Some(components.iter().map(|c| c.to_string()).collect()),
        binary: None,
    }
}

fn annotation<'a>(activation: &'a Value, key: &str) -> Option<&'a Value> {
    activation["annotations"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

const GREET: &str = "function main(args) { console.log('greeting ' + args.name); return { greeting: 'Hello ' + (args.name || 'stranger') + '!' }; }";

#[tokio::test]
async fn blocking_invoke_returns_the_activation_or_its_result() -> TestResult {
    let local = Local::start();
    local.package("demo", json!({}));
    local.node("demo/greet", GREET, vec![], json!({}));
    let resp = local
        .post(
            "/api/v1/namespaces/_/actions/demo/greet?blocking=true",
            json!({"name": "World"}),
        )
        .await?;
    assert_eq!(resp.status(), 200);
    let header = resp
        .headers()
        .get("x-openwhisk-activation-id")
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .ok_or("activation id header")?;
    let activation: Value = resp.json().await?;
    assert_eq!(activation["activationId"], json!(header));
    assert_eq!(activation["namespace"], "local");
    assert_eq!(activation["name"], "greet");
    assert_eq!(
        activation["response"],
        json!({"status": "success", "success": true, "result": {"greeting": "Hello World!"}, "size": 27})
    );
    assert_eq!(
        annotation(&activation, "path"),
        Some(&json!("local/demo/greet"))
    );
    assert_eq!(annotation(&activation, "kind"), Some(&json!("nodejs:20")));
    assert_eq!(annotation(&activation, "timeout"), Some(&json!(false)));
    assert!(annotation(&activation, "initTime").is_some());
    let logs = activation["logs"].as_array().ok_or("logs")?;
    assert_eq!(logs.len(), 1);
    assert!(
        logs[0]
            .as_str()
            .is_some_and(|l| l.ends_with(" stdout: greeting World"))
    );

    let result: Value = local
        .post(
            "/api/v1/namespaces/local/actions/demo/greet?blocking=true&result=true",
            json!({}),
        )
        .await?
        .json()
        .await?;
    assert_eq!(result, json!({"greeting": "Hello stranger!"}));
    Ok(())
}

#[tokio::test]
async fn errors_answer_502_with_the_full_activation() -> TestResult {
    let local = Local::start();
    local.node(
        "fails",
        "function main() { return { error: 'bad input' }; }",
        vec![],
        json!({}),
    );
    local.node(
        "throws",
        "function main() { throw new Error('boom'); }",
        vec![],
        json!({}),
    );
    let resp = local
        .post(
            "/api/v1/namespaces/_/actions/fails?blocking=true",
            json!({}),
        )
        .await?;
    assert_eq!(resp.status(), 502);
    let a: Value = resp.json().await?;
    assert_eq!(a["response"]["status"], "application error");
    assert_eq!(a["response"]["result"]["error"], "bad input");
    let resp = local
        .post(
            "/api/v1/namespaces/_/actions/throws?blocking=true",
            json!({}),
        )
        .await?;
    assert_eq!(resp.status(), 502);
    let a: Value = resp.json().await?;
    assert_eq!(a["response"]["status"], "action developer error");
    assert_eq!(
        a["response"]["result"]["error"],
        "An error has occurred: Error: boom"
    );
    let missing = local
        .post("/api/v1/namespaces/_/actions/nope?blocking=true", json!({}))
        .await?;
    assert_eq!(missing.status(), 404);
    let bad = local
        .post(
            "/api/v1/namespaces/_/actions/fails?blocking=true&timeout=0",
            json!({}),
        )
        .await?;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await?;
    assert_eq!(
        body["error"],
        "Timeout must be number of milliseconds up to 60000."
    );
    Ok(())
}

#[tokio::test]
async fn time_limits_and_short_waits() -> TestResult {
    let local = Local::start();
    local.node(
        "spin",
        "function main() { while (true) {} }",
        vec![],
        json!({}),
    );
    let resp = local
        .post("/api/v1/namespaces/_/actions/spin?blocking=true", json!({}))
        .await?;
    assert_eq!(resp.status(), 502);
    let a: Value = resp.json().await?;
    assert_eq!(
        a["response"]["result"]["error"],
        "The action exceeded its time limits of 3000 milliseconds."
    );
    assert_eq!(annotation(&a, "timeout"), Some(&json!(true)));
    local.node(
        "slow",
        "function main() { return new Promise(r => setTimeout(() => r({ done: true }), 800)); }",
        vec![],
        json!({}),
    );
    let resp = local
        .post(
            "/api/v1/namespaces/_/actions/slow?blocking=true&timeout=100",
            json!({}),
        )
        .await?;
    assert_eq!(resp.status(), 202, "the wait ran out first");
    let body: Value = resp.json().await?;
    let id = body["activationId"].as_str().ok_or("id")?;
    let later = local.wait_activation(id).await?;
    assert_eq!(later["response"]["result"], json!({"done": true}));
    Ok(())
}

#[tokio::test]
async fn non_blocking_invoke_is_read_back_through_activations() -> TestResult {
    let local = Local::start();
    local.package("demo", json!({}));
    local.node("demo/greet", GREET, vec![], json!({}));
    let resp = local
        .post(
            "/api/v1/namespaces/_/actions/demo/greet",
            json!({"name": "async"}),
        )
        .await?;
    assert_eq!(resp.status(), 202);
    let id = resp.json::<Value>().await?["activationId"]
        .as_str()
        .ok_or("activation id")?
        .to_string();
    assert_eq!(id.len(), 32);
    let activation = local.wait_activation(&id).await?;
    assert_eq!(
        activation["response"]["result"],
        json!({"greeting": "Hello async!"})
    );
    let logs: Value = local
        .get(&format!("/api/v1/namespaces/_/activations/{id}/logs"))
        .await?
        .json()
        .await?;
    assert!(
        logs["logs"][0]
            .as_str()
            .is_some_and(|l| l.ends_with("stdout: greeting async"))
    );
    let result: Value = local
        .get(&format!("/api/v1/namespaces/_/activations/{id}/result"))
        .await?
        .json()
        .await?;
    assert_eq!(result["status"], "success");
    assert_eq!(result["result"], json!({"greeting": "Hello async!"}));

    let listed: Value = local
        .get("/api/v1/namespaces/_/activations?name=demo/greet&limit=5")
        .await?
        .json()
        .await?;
    let listed = listed.as_array().ok_or("list")?;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["activationId"], json!(id));
    assert_eq!(listed[0]["statusCode"], 0);
    assert!(
        listed[0].get("response").is_none(),
        "brief form without docs"
    );
    let docs: Value = local
        .get("/api/v1/namespaces/_/activations?docs=true")
        .await?
        .json()
        .await?;
    assert_eq!(docs[0]["response"]["success"], true);
    let count: Value = local
        .get("/api/v1/namespaces/_/activations?count=true&name=greet")
        .await?
        .json()
        .await?;
    assert_eq!(count, json!({"activations": 0}), "name filter is pkg/name");
    let bad = local
        .get("/api/v1/namespaces/_/activations?name=a/b/c")
        .await?;
    assert_eq!(bad.status(), 400);
    let bad_id = local.get("/api/v1/namespaces/_/activations/xyz").await?;
    assert_eq!(bad_id.status(), 400);
    Ok(())
}

#[tokio::test]
async fn parameters_merge_and_init_parameters_become_environment() -> TestResult {
    let local = Local::start();
    local.package("p", json!({"p1": "pkg", "shared": "pkg"}));
    let mut params = kvs(json!({"p2": "act", "shared": "act"}), false);
    params.extend(kvs(json!({"E1": "from-env"}), true));
    local.node(
        "p/show",
        "function main(a) { return { args: a, env: process.env.E1 || null }; }",
        params,
        json!({}),
    );
    let result: Value = local
        .post(
            "/api/v1/namespaces/_/actions/p/show?blocking=true&result=true",
            json!({"p3": "body", "shared": "body"}),
        )
        .await?
        .json()
        .await?;
    assert_eq!(
        result,
        json!({"args": {"p1": "pkg", "shared": "body", "p2": "act", "p3": "body"}, "env": "from-env"})
    );
    local.node(
        "locked",
        "function main(a) { return a; }",
        kvs(json!({"fixed": 1}), false),
        json!({"final": true}),
    );
    let resp = local
        .post(
            "/api/v1/namespaces/_/actions/locked?blocking=true",
            json!({"fixed": 2}),
        )
        .await?;
    assert_eq!(resp.status(), 400);
    Ok(())
}

#[tokio::test]
async fn sequences_run_components_in_order_and_nest() -> TestResult {
    let local = Local::start();
    local.package("seq", json!({}));
    local.node(
        "seq/increment",
        "function main(a) { return { value: (a.value || 0) + 1 }; }",
        vec![],
        json!({}),
    );
    local.action(
        "seq/twice",
        sequence_exec(&["/local/seq/increment", "/local/seq/increment"]),
        vec![],
        json!({}),
    );
    local.action(
        "seq/thrice",
        sequence_exec(&[
            "/local/seq/increment",
            "/local/seq/increment",
            "/local/seq/increment",
        ]),
        vec![],
        json!({}),
    );
    local.action(
        "seq/five",
        sequence_exec(&["/local/seq/twice", "/local/seq/thrice"]),
        vec![],
        json!({}),
    );
    let resp = local
        .post(
            "/api/v1/namespaces/_/actions/seq/five?blocking=true",
            json!({"value": 0}),
        )
        .await?;
    assert_eq!(resp.status(), 200);
    let a: Value = resp.json().await?;
    assert_eq!(a["response"]["result"], json!({"value": 5}));
    assert_eq!(annotation(&a, "topmost"), Some(&json!(true)));
    assert_eq!(annotation(&a, "kind"), Some(&json!("sequence")));
    let parts = a["logs"].as_array().ok_or("component ids")?;
    assert_eq!(parts.len(), 2);
    let inner = local
        .wait_activation(parts[0].as_str().ok_or("id")?)
        .await?;
    assert_eq!(inner["cause"], a["activationId"]);
    assert_eq!(inner["logs"].as_array().map(Vec::len), Some(2));
    assert_eq!(inner["response"]["result"], json!({"value": 2}));

    local.node(
        "seq/fail",
        "function main() { return { error: 'stop here' }; }",
        vec![],
        json!({}),
    );
    local.action(
        "seq/broken",
        sequence_exec(&[
            "/local/seq/increment",
            "/local/seq/fail",
            "/local/seq/increment",
        ]),
        vec![],
        json!({}),
    );
    let resp = local
        .post(
            "/api/v1/namespaces/_/actions/seq/broken?blocking=true",
            json!({}),
        )
        .await?;
    assert_eq!(resp.status(), 502);
    let a: Value = resp.json().await?;
    assert_eq!(a["response"]["result"], json!({"error": "stop here"}));
    assert_eq!(
        a["logs"].as_array().map(Vec::len),
        Some(2),
        "stopped at the failure"
    );
    local.action(
        "seq/dangling",
        sequence_exec(&["/local/seq/gone"]),
        vec![],
        json!({}),
    );
    let a: Value = local
        .post(
            "/api/v1/namespaces/_/actions/seq/dangling?blocking=true",
            json!({}),
        )
        .await?
        .json()
        .await?;
    assert_eq!(
        a["response"]["result"],
        json!({"error": "Sequence component does not exist."})
    );
    Ok(())
}

#[tokio::test]
async fn web_actions_answer_http() -> TestResult {
    let local = Local::start();
    local.package("web", json!({}));
    local.node(
        "web/echo",
        "function main(a) { return { method: a.__ow_method, path: a.__ow_path, name: a.name, ua: a.__ow_headers['x-test'] }; }",
        vec![],
        json!({"web-export": true}),
    );
    local.node(
        "web/page",
        "function main(a) { return { statusCode: 201, headers: { 'x-made-by': 'sluice' }, body: '<h1>Hello ' + a.name + '</h1>' }; }",
        vec![],
        json!({"web-export": true}),
    );
    local.node(
        "web/secret",
        "function main() { return { body: 'ok' }; }",
        vec![],
        json!({"web-export": true, "require-whisk-auth": "xyzzy"}),
    );
    local.node("web/hidden", GREET, vec![], json!({}));
    let http = reqwest::Client::new();
    let resp = http
        .get(local.url("/api/v1/web/local/web/echo.json/extra/path?name=web"))
        .header("x-test", "yes")
        .send()
        .await?;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("*")
    );
    let body: Value = resp.json().await?;
    assert_eq!(
        body,
        json!({"method": "get", "path": "/extra/path", "name": "web", "ua": "yes"})
    );
    let resp = http
        .get(local.url("/api/v1/web/local/web/page?name=there"))
        .send()
        .await?;
    assert_eq!(resp.status(), 201);
    assert_eq!(
        resp.headers()
            .get("x-made-by")
            .and_then(|v| v.to_str().ok()),
        Some("sluice")
    );
    assert_eq!(resp.text().await?, "<h1>Hello there</h1>");
    let denied = http
        .get(local.url("/api/v1/web/local/web/secret"))
        .send()
        .await?;
    assert_eq!(denied.status(), 401);
    let allowed = http
        .get(local.url("/api/v1/web/local/web/secret.text"))
        .header("X-Require-Whisk-Auth", "xyzzy")
        .send()
        .await?;
    assert_eq!(allowed.status(), 200);
    assert_eq!(allowed.text().await?, "ok");
    let hidden = http
        .get(local.url("/api/v1/web/local/web/hidden"))
        .send()
        .await?;
    assert_eq!(hidden.status(), 404);
    let options = http
        .request(
            reqwest::Method::OPTIONS,
            local.url("/api/v1/web/local/web/echo"),
        )
        .send()
        .await?;
    assert_eq!(options.status(), 200);
    assert!(
        options
            .headers()
            .contains_key("access-control-allow-methods")
    );
    Ok(())
}

#[tokio::test]
async fn scheduled_triggers_fire_and_record_activations() -> TestResult {
    let local = Local::start();
    local.package("cron", json!({}));
    local.node("cron/hello", GREET, vec![], json!({}));
    let trigger = DoTrigger {
        namespace: "local".into(),
        function: "cron/hello".into(),
        trigger_type: "SCHEDULED".into(),
        name: "every-minute".into(),
        is_enabled: true,
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
        scheduled_details: ScheduledDetails {
            cron: "* * * * *".into(),
            body: Some(json!({"name": "tester"})),
        },
        scheduled_runs: ScheduledRuns::default(),
    };
    local.store.with(|c| do_triggers::put(c, &trigger))?;
    let state = sluice_local::AppState::new(local.store.clone(), local._dir.path().to_path_buf());
    let mut schedule = sluice_local::scheduler::Schedule::default();
    let minute = chrono::Utc::now() + chrono::Duration::minutes(1);
    let boundary =
        sluice_local::scheduler::next_after("* * * * *", minute - chrono::Duration::minutes(1))
            .ok_or("next minute")?;
    let before = sluice_local::scheduler::tick(
        &state,
        &mut schedule,
        boundary - chrono::Duration::seconds(1),
    )
    .await;
    assert!(before.is_empty(), "not yet due");
    let fired = sluice_local::scheduler::tick(&state, &mut schedule, boundary).await;
    assert_eq!(fired.len(), 1);
    let activation = local.wait_activation(&fired[0]).await?;
    assert_eq!(
        activation["response"]["result"],
        json!({"greeting": "Hello tester!"})
    );
    let stored = local
        .store
        .with(|c| do_triggers::get(c, "local", "every-minute"))?
        .ok_or("trigger")?;
    assert!(stored.scheduled_runs.last_run_at.is_some());
    assert!(stored.scheduled_runs.next_run_at.is_some());
    Ok(())
}

#[tokio::test]
async fn firing_a_trigger_runs_its_active_rules() -> TestResult {
    use sluice_local::store::{PathName, RuleLink, Trigger, triggers};
    let local = Local::start();
    local.package("rules", json!({}));
    local.node("rules/hello", GREET, vec![], json!({}));
    let mut trigger = Trigger {
        namespace: "local".into(),
        name: "events".into(),
        version: "0.0.1".into(),
        publish: false,
        parameters: kvs(json!({"name": "from-trigger"}), false),
        annotations: vec![],
        limits: serde_json::Map::new(),
        rules: Default::default(),
        updated: 1,
    };
    local.store.with(|c| triggers::put(c, &trigger))?;
    let quiet = local
        .post("/api/v1/namespaces/_/triggers/events", json!({}))
        .await?;
    assert_eq!(quiet.status(), 204, "no rules, no activation");
    trigger.rules.insert(
        "local/greet-on-event".into(),
        RuleLink {
            action: PathName {
                path: "local/rules".into(),
                name: "hello".into(),
            },
            status: "active".into(),
        },
    );
    local.store.with(|c| triggers::put(c, &trigger))?;
    let fired = local
        .post(
            "/api/v1/namespaces/_/triggers/events",
            json!({"name": "payload"}),
        )
        .await?;
    assert_eq!(fired.status(), 202);
    let id = fired.json::<Value>().await?["activationId"]
        .as_str()
        .ok_or("trigger activation id")?
        .to_string();
    let trigger_activation = local.wait_activation(&id).await?;
    assert_eq!(
        trigger_activation["response"]["result"],
        json!({"name": "payload"})
    );
    let line: Value = serde_json::from_str(
        trigger_activation["logs"][0]
            .as_str()
            .ok_or("rule log line")?,
    )?;
    assert_eq!(line["rule"], "local/greet-on-event");
    assert_eq!(line["action"], "local/rules/hello");
    let rule_run = local
        .wait_activation(line["activationId"].as_str().ok_or("rule activation")?)
        .await?;
    assert_eq!(
        rule_run["response"]["result"],
        json!({"greeting": "Hello payload!"})
    );
    Ok(())
}
