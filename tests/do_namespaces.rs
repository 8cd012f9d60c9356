//! Namespaces from the CLI (issue 17): `namespace create|list --remote|delete`, `connect
//! <label|id>` and `env create|delete`, against a fake of DigitalOcean's
//! `/v2/functions/namespaces` on 127.0.0.1 (wiremock, serving the documented JSON and checking
//! the Bearer token) and against the real local server. The token never reaches stdout or
//! stderr; connecting stores the key privately (0600).

mod common;

use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::ProjectTest;
use serde_json::{Value, json};
use sluice_openwhisk::{Client, TransportOptions};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

const TOKEN: &str = "dop_v1_0123456789abcdef0123456789abcdef";
const PREFIX: &str = "/v2/functions/namespaces";

/// What the fake account holds.
#[derive(Debug, Default)]
struct Account {
    namespaces: Vec<Value>,
    /// Scheduled triggers by namespace id.
    triggers: Vec<(String, Value)>,
    /// The (id, `uuid:key`) the next creates hand out.
    next: Vec<(String, String)>,
    /// Every request as `METHOD path`, and the bodies of the creates.
    log: Vec<String>,
    bodies: Vec<Value>,
}

/// DigitalOcean's functions namespaces API as its documentation shows it.
struct FakeDo {
    account: Arc<Mutex<Account>>,
    api_host: String,
    counter: AtomicUsize,
}

fn error(status: u16, id: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"id": id, "message": message}))
}

impl FakeDo {
    fn namespace(&self, id: &str, label: &str, region: &str, auth: &str) -> Value {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let (uuid, key) = auth.split_once(':').unwrap_or((auth, ""));
        json!({
            "api_host": self.api_host,
            "namespace": id,
            "created_at": format!("2026-12-0{}T10:00:00Z", n % 9 + 1),
            "updated_at": "2026-12-01T10:00:00Z",
            "label": label,
            "region": region,
            "uuid": uuid,
            "key": key,
        })
    }
}

impl Respond for FakeDo {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let path = req.url.path().to_string();
        let mut account = self.account.lock().expect("the fake's lock");
        account.log.push(format!("{} {path}", req.method));
        let authorized = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some(format!("Bearer {TOKEN}").as_str());
        if !authorized {
            return error(401, "unauthorized", "Unable to authenticate you");
        }
        let rest = path.strip_prefix(PREFIX).unwrap_or("/unknown");
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        let method = req.method.as_str();
        let position = |account: &Account, id: &str| {
            account.namespaces.iter().position(|n| n["namespace"] == id)
        };
        let not_found = || {
            error(
                404,
                "not_found",
                "The resource you were accessing could not be found.",
            )
        };
        match (method, parts.as_slice()) {
            ("GET", []) => {
                ResponseTemplate::new(200).set_body_json(json!({"namespaces": account.namespaces}))
            }
            ("POST", []) => {
                let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                account.bodies.push(body.clone());
                let (Some(label), Some(region)) = (body["label"].as_str(), body["region"].as_str())
                else {
                    return error(422, "unprocessable_entity", "label and region are required");
                };
                if region != "nyc1" && region != "ams3" {
                    return error(422, "unprocessable_entity", "invalid region");
                }
                if account.next.is_empty() {
                    return error(500, "server_error", "the fake has no more namespaces");
                }
                let (id, auth) = account.next.remove(0);
                let made = self.namespace(&id, label, region, &auth);
                account.namespaces.push(made.clone());
                ResponseTemplate::new(200).set_body_json(json!({"namespace": made}))
            }
            ("GET", [id]) => match position(&account, id) {
                Some(i) => ResponseTemplate::new(200)
                    .set_body_json(json!({"namespace": account.namespaces[i]})),
                None => not_found(),
            },
            ("DELETE", [id]) => match position(&account, id) {
                Some(i) => {
                    account.namespaces.remove(i);
                    ResponseTemplate::new(204)
                }
                None => not_found(),
            },
            ("GET", [id, "triggers"]) => {
                let list: Vec<Value> = account
                    .triggers
                    .iter()
                    .filter(|(ns, _)| ns == id)
                    .map(|(_, t)| t.clone())
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({"triggers": list}))
            }
            ("POST", [id, "triggers"]) => {
                let mut body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                body["namespace"] = json!(id);
                account.triggers.push((id.to_string(), body.clone()));
                ResponseTemplate::new(200).set_body_json(json!({"trigger": body}))
            }
            ("DELETE", [id, "triggers", name]) => {
                let before = account.triggers.len();
                account
                    .triggers
                    .retain(|(ns, t)| !(ns == id && t["name"] == *name));
                if account.triggers.len() == before {
                    not_found()
                } else {
                    ResponseTemplate::new(204)
                }
            }
            _ => not_found(),
        }
    }
}

/// The fake API on its own runtime, stopped when dropped.
struct DoApi {
    server: MockServer,
    account: Arc<Mutex<Account>>,
    _runtime: tokio::runtime::Runtime,
}

impl DoApi {
    /// Starts the fake; namespaces it creates are served by `api_host` and get the ids and
    /// keys of `next`, in order.
    fn start(api_host: &str, next: Vec<(String, String)>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let account = Arc::new(Mutex::new(Account {
            next,
            ..Account::default()
        }));
        let fake = FakeDo {
            account: account.clone(),
            api_host: api_host.to_string(),
            counter: AtomicUsize::new(0),
        };
        let server = runtime.block_on(async {
            let server = MockServer::start().await;
            Mock::given(any()).respond_with(fake).mount(&server).await;
            server
        });
        DoApi {
            server,
            account,
            _runtime: runtime,
        }
    }

    fn uri(&self) -> String {
        self.server.uri()
    }

    fn account(&self) -> std::sync::MutexGuard<'_, Account> {
        self.account.lock().expect("the fake's lock")
    }

    /// A project test whose commands use this API with the right token.
    fn test(&self, test: ProjectTest) -> ProjectTest {
        test.env("SLUICE_DO_API_URL", self.uri())
            .env("DIGITALOCEAN_ACCESS_TOKEN", TOKEN)
    }

    fn filters(&self) -> Vec<(String, String)> {
        vec![(regex::escape(&self.uri()), "[DO_API]".to_string())]
    }
}

fn run(test: &ProjectTest, args: &[&str]) -> Output {
    let out = test
        .command(args)
        .stdin(Stdio::null())
        .output()
        .expect("run sluice");
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(!text.contains(TOKEN), "the token was printed: {text}");
        assert!(
            !text.contains("0123456789abcdef"),
            "a key was printed: {text}"
        );
    }
    out
}

fn ok(test: &ProjectTest, args: &[&str]) -> String {
    let out = run(test, args);
    assert!(
        out.status.success(),
        "sluice {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_of(test: &ProjectTest, args: &[&str]) -> Value {
    let out = ok(test, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {out}"))
}

fn store_of(test: &ProjectTest) -> Value {
    let path = test.nimbella_dir().join("credentials.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("the store exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the store is private");
    }
    serde_json::from_str(&std::fs::read_to_string(&path).expect("the store")).expect("JSON")
}

const ID_DEV: &str = "fn-5c6b2b5e-7d0c-4b1f-9a51-0e7c52b7a001";
const ID_PROD: &str = "fn-5c6b2b5e-7d0c-4b1f-9a51-0e7c52b7a002";
const AUTH_DEV: &str = "b3d6c7a1-0000-4000-8000-000000000001:0123456789abcdef0123456789abcdefdev";
const AUTH_PROD: &str = "b3d6c7a1-0000-4000-8000-000000000002:0123456789abcdef0123456789abcdefprod";

#[test]
fn create_list_connect_and_delete_on_digitalocean() {
    let api = DoApi::start(
        "https://faas-nyc1-2ef2e6cc.doserverless.co",
        vec![
            (ID_DEV.to_string(), AUTH_DEV.to_string()),
            (ID_PROD.to_string(), AUTH_PROD.to_string()),
        ],
    );
    let test = api.test(ProjectTest::empty());

    sluice_snapshot!(filters = api.filters(), test.command(["namespace", "create", "--label", "dev", "--region", "nyc1"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Created namespace 'fn-5c6b2b5e-7d0c-4b1f-9a51-0e7c52b7a001' with label 'dev' in region nyc1
    Connected to functions namespace 'fn-5c6b2b5e-7d0c-4b1f-9a51-0e7c52b7a001' on API host 'https://faas-nyc1-2ef2e6cc.doserverless.co'

    ----- stderr -----
    ");
    let made = json_of(
        &test,
        &[
            "namespace",
            "create",
            "--label",
            "prod",
            "--region",
            "ams",
            "--no-connect",
            "--json",
        ],
    );
    insta::assert_json_snapshot!(made, @r#"
    {
      "label": "prod",
      "region": "ams3",
      "id": "fn-5c6b2b5e-7d0c-4b1f-9a51-0e7c52b7a002",
      "apiHost": "https://faas-nyc1-2ef2e6cc.doserverless.co",
      "createdAt": "2026-12-02T10:00:00Z",
      "local": false,
      "connected": false
    }
    "#);
    insta::assert_json_snapshot!(api.account().bodies.clone(), @r#"
    [
      {
        "label": "dev",
        "region": "nyc1"
      },
      {
        "label": "prod",
        "region": "ams3"
      }
    ]
    "#);

    // The created namespace is connected: its API host and `uuid:key` are stored, privately.
    let store = store_of(&test);
    let host = "https://faas-nyc1-2ef2e6cc.doserverless.co";
    assert_eq!(store["currentNamespace"], ID_DEV);
    assert_eq!(store["currentHost"], host);
    assert_eq!(store["credentials"][host][ID_DEV]["api_key"], AUTH_DEV);
    assert_eq!(store["credentials"][host][ID_DEV]["label"], "dev");
    assert!(
        store["credentials"][host].get(ID_PROD).is_none(),
        "--no-connect stores nothing"
    );

    sluice_snapshot!(filters = api.filters(), test.command(["namespace", "list", "--remote"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    LABEL  REGION  ID                                       API HOST
    dev    nyc1    fn-5c6b2b5e-7d0c-4b1f-9a51-0e7c52b7a001  https://faas-nyc1-2ef2e6cc.doserverless.co
    prod   ams3    fn-5c6b2b5e-7d0c-4b1f-9a51-0e7c52b7a002  https://faas-nyc1-2ef2e6cc.doserverless.co

    ----- stderr -----
    ");
    let listed = json_of(&test, &["namespace", "list", "--remote", "--json"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    assert!(!listed.to_string().contains("uuid"), "{listed}");

    // A label the account has is refused, as doctl does; a region DigitalOcean refuses gets
    // DigitalOcean's message.
    sluice_snapshot!(filters = api.filters(), test.command(["namespace", "create", "--label", "dev", "--region", "nyc1"]), @r"
    success: false
    exit_code: 1
    ----- stdout -----

    ----- stderr -----
      × a namespace labelled 'dev' exists already; labels must be unique
      help: connect it with 'sluice connect dev', or choose another label
    ");
    sluice_snapshot!(filters = api.filters(), test.command(["namespace", "create", "--label", "qa", "--region", "mars1"]), @r"
    success: false
    exit_code: 1
    ----- stdout -----

    ----- stderr -----
      × DigitalOcean refused POST /v2/functions/namespaces: invalid region (HTTP
      │ 422, unprocessable_entity)
      help: labels must be unique in the account; regions are DigitalOcean's
            datacenters such as nyc1, sfo3, ams3, fra1, lon1, sgp1, syd1, tor1,
            blr1
    ");

    // `connect` by label, by a part of the id, and the DigitalOcean `get` behind it.
    sluice_snapshot!(filters = api.filters(), test.command(["connect", "prod"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Connected to functions namespace 'fn-5c6b2b5e-7d0c-4b1f-9a51-0e7c52b7a002' on API host 'https://faas-nyc1-2ef2e6cc.doserverless.co'

    ----- stderr -----
    ");
    let store = store_of(&test);
    assert_eq!(store["currentNamespace"], ID_PROD);
    assert_eq!(store["credentials"][host][ID_PROD]["api_key"], AUTH_PROD);
    ok(&test, &["connect", "7a001"]);
    assert_eq!(store_of(&test)["currentNamespace"], ID_DEV);
    assert!(
        api.account()
            .log
            .contains(&format!("GET {PREFIX}/{ID_DEV}")),
        "connect gets the namespace's key"
    );
    let unnamed = run(&test, &["connect"]);
    assert!(
        !unnamed.status.success(),
        "two namespaces: connect needs a name"
    );
    assert!(
        String::from_utf8_lossy(&unnamed.stderr)
            .contains("the account has 2 namespaces: dev, prod"),
        "{}",
        String::from_utf8_lossy(&unnamed.stderr)
    );
    sluice_snapshot!(filters = api.filters(), test.command(["connect", "fn-"]), @r"
    success: false
    exit_code: 1
    ----- stdout -----

    ----- stderr -----
      × 'fn-' matches several functions namespaces: dev (fn-5c6b2b5e-7d0c-4b1f-
      │ 9a51-0e7c52b7a001), prod (fn-5c6b2b5e-7d0c-4b1f-9a51-0e7c52b7a002)
      help: give the whole label or the namespace's id
    ");

    // Delete asks; off a terminal nothing is deleted without --yes. Exact names only.
    let refused = run(&test, &["namespace", "delete", "prod"]);
    assert!(!refused.status.success());
    assert_eq!(api.account().namespaces.len(), 2);
    sluice_snapshot!(filters = api.filters(), test.command(["namespace", "delete", "pro", "--yes"]), @r"
    success: false
    exit_code: 1
    ----- stdout -----

    ----- stderr -----
      × 'pro' is not the label or id of any functions namespace of this account
      help: the account's namespaces are labelled: dev, prod
    ");
    sluice_snapshot!(filters = api.filters(), test.command(["namespace", "delete", "prod", "--yes"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Deleted namespace 'fn-5c6b2b5e-7d0c-4b1f-9a51-0e7c52b7a002' (label 'prod')
      and removed it from the credential store

    ----- stderr -----
    ");
    assert_eq!(api.account().namespaces.len(), 1);
    assert!(store_of(&test)["credentials"][host].get(ID_PROD).is_none());
    ok(&test, &["namespace", "use", "local"]);
    ok(&test, &["connect"]);
    assert_eq!(
        store_of(&test)["currentNamespace"],
        ID_DEV,
        "the only namespace"
    );
}

#[test]
fn a_missing_or_wrong_token_is_refused_and_never_printed() {
    let api = DoApi::start("https://faas-nyc1-2ef2e6cc.doserverless.co", Vec::new());
    // The fake checks the token: a request without one gets 401.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let status = runtime.block_on(async {
        reqwest::get(format!("{}{PREFIX}", api.uri()))
            .await
            .map(|r| r.status().as_u16())
    });
    assert_eq!(status.ok(), Some(401));

    let wrong = "dop_v1_ffffffffffffffffffffffffffffffff";
    let test = ProjectTest::empty()
        .env("SLUICE_DO_API_URL", api.uri())
        .env("DIGITALOCEAN_ACCESS_TOKEN", wrong);
    let out = sluice_snapshot!(filters = api.filters(), test.command(["namespace", "list", "--remote"]), @r"
    success: false
    exit_code: 1
    ----- stdout -----

    ----- stderr -----
      × DigitalOcean refused the API token (GET /v2/functions/namespaces: Unable
      │ to authenticate you)
      help: the token came from $DIGITALOCEAN_ACCESS_TOKEN: check the token (it
            needs read and write access to functions), or make a new one at
            https://cloud.digitalocean.com/account/api/tokens
    ");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(wrong));
    let flagged = test
        .command(["connect", "dev", "--access-token", "dop_v1_flagged_wrong"])
        .stdin(Stdio::null())
        .output()
        .expect("run sluice");
    let stderr = String::from_utf8_lossy(&flagged.stderr);
    assert!(
        stderr.contains("the token came from --access-token"),
        "{stderr}"
    );
    assert!(!stderr.contains("dop_v1_flagged_wrong"), "{stderr}");
    // A region asks for DigitalOcean: without any token that is an error, not a local namespace.
    let bare = ProjectTest::empty();
    let out = run(
        &bare,
        &["namespace", "create", "--label", "x", "--region", "nyc1"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no DigitalOcean token"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const SETTINGS: &str = r#"
[environments.dev]
namespace = "app_{branch}"
region = "nyc1"
branches = ["feature/*"]

[environments.stage]
namespace = "stage"
"#;

const PROJECT: &str = "packages:\n  - name: app\n    functions:\n      - name: hello\n        runtime: nodejs:default\n        triggers:\n          - name: nightly\n            sourceType: scheduler\n            sourceDetails:\n              cron: \"0 3 * * *\"\n";

/// A project with two environments, on the git branch `feature/login`.
fn project() -> ProjectTest {
    let test = ProjectTest::empty()
        .write("sluice.toml", SETTINGS)
        .write("project.yml", PROJECT)
        .write(
            "packages/app/hello.js",
            "exports.main = () => ({ ok: true });\n",
        )
        .git_commit();
    let mut git = std::process::Command::new("git");
    test.isolate(&mut git);
    let status = git
        .args(["checkout", "-q", "-b", "feature/login"])
        .current_dir(test.path())
        .status()
        .expect("git");
    assert!(status.success());
    test
}

/// The actions of a namespace of the local server, read with its key.
fn actions_in(test: &ProjectTest, namespace: &str) -> Vec<String> {
    let file = sluice_local::daemon::files::read_state(&test.local_dir()).expect("the server runs");
    let ns = sluice_local::daemon::client::namespace(&file, namespace)
        .expect("the server answers")
        .unwrap_or_else(|| panic!("no local namespace '{namespace}'"));
    let client =
        Client::new(&file.api_host, &ns.auth, &TransportOptions::default()).expect("a client");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let list = runtime
        .block_on(client.get(client.entity_url("actions", "")))
        .unwrap_or(Value::Null);
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn the_same_commands_work_on_the_local_server() {
    let test = ProjectTest::empty();
    let local = vec![(
        r"http://127\.0\.0\.1:\d+".to_string(),
        "[LOCAL]".to_string(),
    )];
    sluice_snapshot!(filters = local.clone(), test.command(["namespace", "create", "--local", "--label", "dev1"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Created the local namespace 'dev1'
    Now using the local namespace 'dev1'

    ----- stderr -----
    ");
    sluice_snapshot!(filters = local.clone(), test.command(["namespace", "list", "--remote", "--local"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    LABEL  REGION  ID     API HOST
    dev1   local   dev1   [LOCAL]
    local  local   local  [LOCAL]

    ----- stderr -----
    ");
    ok(&test, &["namespace", "use", "local"]);
    sluice_snapshot!(filters = local.clone(), test.command(["connect", "dev1", "--local"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Now using the local namespace 'dev1'

    ----- stderr -----
    ");
    assert_eq!(store_of(&test)["currentNamespace"], "dev1");
    sluice_snapshot!(filters = local.clone(), test.command(["namespace", "create", "--local", "--label", "x", "--region", "nyc1"]), @r"
    success: false
    exit_code: 1
    ----- stdout -----

    ----- stderr -----
      × --region is for DigitalOcean namespaces; the local server has no regions
      help: leave out --region, or --local
    ");
    sluice_snapshot!(filters = local, test.command(["namespace", "delete", "dev1", "--local", "--yes"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Deleted the local namespace 'dev1'
      and removed it from the credential store

    ----- stderr -----
    ");
    let listed = json_of(
        &test,
        &["namespace", "list", "--remote", "--local", "--json"],
    );
    assert!(!listed.to_string().contains("dev1"), "{listed}");
}

#[test]
fn env_create_and_delete_on_the_local_server() {
    let test = project();
    let local = vec![(
        r"http://127\.0\.0\.1:\d+".to_string(),
        "[LOCAL]".to_string(),
    )];
    sluice_snapshot!(filters = local.clone(), test.command(["env", "create", "dev"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Created the local namespace 'app_feature-login' for environment 'dev'
    Now using the local namespace 'app_feature-login'
    Deploy to it with 'sluice deploy -e dev'

    ----- stderr -----
    No DigitalOcean token found, so this works on the local server's namespaces (pass --access-token or set DIGITALOCEAN_ACCESS_TOKEN for DigitalOcean's; --local says it on purpose)
    ");
    // Again: the namespace exists, and is connected.
    let again = json_of(&test, &["env", "create", "dev", "--local", "--json"]);
    assert_eq!(again["created"], false);
    assert_eq!(again["namespace"]["id"], "app_feature-login");

    ok(&test, &["deploy", "-e", "dev"]);
    assert_eq!(actions_in(&test, "app_feature-login"), vec!["hello"]);

    let refused = run(&test, &["env", "delete", "dev", "--local"]);
    assert!(
        !refused.status.success(),
        "off a terminal, delete needs --yes"
    );
    assert_eq!(actions_in(&test, "app_feature-login"), vec!["hello"]);

    sluice_snapshot!(filters = local, test.command(["env", "delete", "dev", "--local", "--yes"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Deleted function 'app/hello'
    Deleted package 'app'
    Deleted trigger 'nightly'
    Deleted the local namespace 'app_feature-login' of environment 'dev'
      and removed it from the credential store

    ----- stderr -----
    ");
    let listed = json_of(
        &test,
        &["namespace", "list", "--remote", "--local", "--json"],
    );
    assert!(
        !listed.to_string().contains("app_feature-login"),
        "the namespace is gone: {listed}"
    );
    let store = store_of(&test);
    assert!(!store.to_string().contains("app_feature-login"), "{store}");

    // An environment without a namespace setting has nothing to create.
    let none = ProjectTest::empty().write("sluice.toml", "[environments.qa]\nenv = \"qa.env\"\n");
    let out = run(&none, &["env", "create", "qa", "--local"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("names no namespace"));
}

#[test]
fn env_create_and_delete_on_digitalocean() {
    // DigitalOcean's API is the fake; the namespace it hands out is served by the real local
    // server (a local namespace with the same id and key), so deploy and undeploy are real.
    let test = project();
    ok(&test, &["local", "namespace", "create", ID_DEV]);
    let file = sluice_local::daemon::files::read_state(&test.local_dir()).expect("the server runs");
    let key = sluice_local::daemon::client::namespace(&file, ID_DEV)
        .expect("the server answers")
        .expect("the namespace exists")
        .auth;
    let api = DoApi::start(&file.api_host, vec![(ID_DEV.to_string(), key.clone())]);
    let test = api.test(test);
    let mut filters = api.filters();
    filters.push((regex::escape(&file.api_host), "[LOCAL]".to_string()));

    // The region comes from the environment; `{branch}` is filled in for the label.
    sluice_snapshot!(filters = filters.clone(), test.command(["env", "create", "dev"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Created namespace 'fn-5c6b2b5e-7d0c-4b1f-9a51-0e7c52b7a001' with label 'app_feature-login' in region nyc1 for environment 'dev'
    Connected to functions namespace 'fn-5c6b2b5e-7d0c-4b1f-9a51-0e7c52b7a001' on API host '[LOCAL]'
    Deploy to it with 'sluice deploy -e dev'

    ----- stderr -----
    ");
    let created = json_of(&test, &["env", "create", "dev", "--json"]);
    let mut settings = insta::Settings::clone_current();
    for (re, rep) in &filters {
        settings.add_filter(re, rep.as_str());
    }
    settings.bind(|| {
        insta::assert_json_snapshot!(created, {".store" => "[STORE]"}, @r#"
        {
          "environment": "dev",
          "namespace": {
            "label": "app_feature-login",
            "region": "nyc1",
            "id": "fn-5c6b2b5e-7d0c-4b1f-9a51-0e7c52b7a001",
            "apiHost": "[LOCAL]",
            "createdAt": "2026-12-01T10:00:00Z",
            "local": false
          },
          "created": false,
          "store": "[STORE]"
        }
        "#);
    });
    assert_eq!(
        api.account().bodies,
        vec![json!({"label": "app_feature-login", "region": "nyc1"})]
    );
    let store = store_of(&test);
    assert_eq!(
        store["credentials"][&file.api_host][ID_DEV]["api_key"],
        key.as_str()
    );
    assert_eq!(
        store["credentials"][&file.api_host][ID_DEV]["label"],
        "app_feature-login"
    );

    // An environment's apihost that is not where the namespace lives is pointed out.
    let settings = test.path().join("sluice.toml");
    std::fs::write(
        &settings,
        SETTINGS.replace("region = \"nyc1\"", "region = \"nyc1\"\napihost = \"sfo3\""),
    )
    .expect("write sluice.toml");
    let warned = run(&test, &["env", "create", "dev"]);
    assert!(warned.status.success());
    let stderr = String::from_utf8_lossy(&warned.stderr);
    assert!(
        stderr.contains("sets apihost = \"sfo3\", but the namespace lives on"),
        "{stderr}"
    );
    std::fs::write(&settings, SETTINGS).expect("write sluice.toml");

    // A DigitalOcean environment without a region cannot be created.
    let out = run(&test, &["env", "create", "stage"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no region"));

    // Deploy by the label; the trigger goes to DigitalOcean's triggers API.
    ok(&test, &["deploy", "-e", "dev"]);
    assert_eq!(actions_in(&test, ID_DEV), vec!["hello"]);
    assert_eq!(api.account().triggers.len(), 1);

    sluice_snapshot!(filters = filters, test.command(["env", "delete", "dev", "--yes"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    Deleted function 'app/hello'
    Deleted package 'app'
    Deleted trigger 'nightly'
    Deleted namespace 'fn-5c6b2b5e-7d0c-4b1f-9a51-0e7c52b7a001' (label 'app_feature-login') of environment 'dev'
      and removed it from the credential store

    ----- stderr -----
    ");
    let account = api.account();
    assert!(account.namespaces.is_empty(), "the namespace is deleted");
    assert!(account.triggers.is_empty(), "the trigger is deleted");
    assert!(account.log.contains(&format!("DELETE {PREFIX}/{ID_DEV}")));
    drop(account);
    assert!(
        actions_in(&test, ID_DEV).is_empty(),
        "the functions are undeployed"
    );
    assert!(
        store_of(&test)["credentials"][&file.api_host]
            .get(ID_DEV)
            .is_none()
    );
}
