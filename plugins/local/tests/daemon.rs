//! The daemon over real sockets and real processes: one server per data directory (start,
//! reuse, refusal of a second one, stop, stale state files, idle exit, remembered port), the
//! ownership rule that keeps the scheduler to one server, activations visible while they
//! run, and namespaces that cannot see each other.

use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice_local::daemon::{self, DaemonOptions, client, files};
use sluice_local::{AppState, LocalError, Store};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A daemon on its own thread of this test process (so it cannot outlive the tests).
struct Running {
    thread: Option<JoinHandle<Result<(), LocalError>>>,
    api_host: String,
    auth: String,
}

impl Running {
    fn join(mut self) -> Result<(), LocalError> {
        self.thread
            .take()
            .map_or(Ok(()), |t| t.join().expect("daemon thread"))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Starts a daemon over `dir` on a fresh free port (never 3233, which a developer's own
/// server may hold) unless the directory remembers one.
fn start(dir: &Path, idle: Option<Duration>) -> Running {
    if files::remembered_port(dir).is_none() {
        files::remember_port(dir, free_port()).expect("remember a port");
    }
    let mut opts = DaemonOptions::new(dir.to_path_buf());
    opts.idle = idle;
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        daemon::run(opts, move |ready| {
            let _ = tx.send((ready.api_host.clone(), ready.namespace.auth()));
        })
    });
    let (api_host, auth) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the daemon listens");
    Running {
        thread: Some(thread),
        api_host,
        auth,
    }
}

/// Stops the daemon of `dir` (if any) and waits for its thread.
fn stop(dir: &Path, running: Running) {
    client::stop(dir).expect("stop");
    running.join().expect("the daemon ends cleanly");
}

#[test]
fn a_daemon_is_found_reused_and_refuses_a_second_one() -> TestResult {
    let dir = tempfile::tempdir()?;
    let running = start(dir.path(), None);
    let (file, status) = client::probe(dir.path()).expect("it answers");
    assert_eq!(status.pid, std::process::id());
    assert_eq!(status.api_host, running.api_host);
    assert_eq!(status.namespaces, vec!["local".to_string()]);
    assert_eq!(file.api_host, running.api_host);
    // `ensure` finds it and starts nothing (the command would fail if run).
    let (again, _) = client::ensure(dir.path(), || std::process::Command::new("/nonexistent"))?;
    assert_eq!(again.token, file.token);
    // A second server over the same directory is refused and names the first.
    let second = daemon::run(DaemonOptions::new(dir.path().to_path_buf()), |_| {
        panic!("a second server must not listen")
    });
    match second {
        Err(LocalError::AlreadyRunning { api_host, pid, .. }) => {
            assert_eq!(api_host.as_deref(), Some(running.api_host.as_str()));
            assert_eq!(pid, Some(std::process::id()));
        }
        other => panic!("expected AlreadyRunning, got {other:?}"),
    }
    stop(dir.path(), running);
    assert!(client::probe(dir.path()).is_none());
    assert!(!dir.path().join(files::STATE_FILE).exists());
    Ok(())
}

#[test]
fn the_port_is_remembered_across_restarts() -> TestResult {
    let dir = tempfile::tempdir()?;
    let first = start(dir.path(), None);
    let host = first.api_host.clone();
    stop(dir.path(), first);
    let second = start(dir.path(), None);
    assert_eq!(second.api_host, host);
    stop(dir.path(), second);
    Ok(())
}

#[test]
fn a_stale_state_file_is_detected_and_replaced() -> TestResult {
    let dir = tempfile::tempdir()?;
    // What a killed server leaves: a state file naming a dead process on a closed port, and
    // an unlocked lock file.
    let stale = files::DaemonFile {
        pid: 999_999_999,
        host: "127.0.0.1".parse()?,
        port: free_port(),
        api_host: "http://127.0.0.1:1".into(),
        version: "0.0.0".into(),
        token: "stale".into(),
    };
    files::write_state(dir.path(), &stale)?;
    std::fs::write(dir.path().join(sluice_local::owner::LOCK_FILE), "")?;
    assert!(
        client::probe(dir.path()).is_none(),
        "a stale file is not a server"
    );
    let running = start(dir.path(), None);
    let (file, _) = client::probe(dir.path()).expect("the new server answers");
    assert_ne!(file.token, "stale");
    assert_eq!(file.pid, std::process::id());
    stop(dir.path(), running);
    // `stop` with only a stale file says nothing ran and cleans the file up.
    files::write_state(dir.path(), &stale)?;
    assert!(client::stop(dir.path())?.is_none());
    assert!(!dir.path().join(files::STATE_FILE).exists());
    Ok(())
}

#[test]
fn an_idle_daemon_exits_by_itself() -> TestResult {
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let running = start(dir.path(), Some(Duration::from_millis(400)));
    let (_, status) = client::probe(dir.path()).expect("it answers");
    assert_eq!(status.idle_exit_seconds, Some(0));
    running.join()?;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(client::probe(dir.path()).is_none());
    assert!(!dir.path().join(files::STATE_FILE).exists());
    Ok(())
}

#[tokio::test]
async fn only_the_owner_of_the_data_dir_runs_the_scheduler() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let owner = AppState::new(store.clone(), dir.path().to_path_buf());
    let other = AppState::new(store.clone(), dir.path().to_path_buf());
    assert!(owner.claim_data_dir()?);
    assert!(!other.claim_data_dir()?, "one owner at a time");
    // Once the owner is gone, the next server takes over.
    drop(owner);
    let next = AppState::new(store, dir.path().to_path_buf());
    assert!(next.claim_data_dir()?);
    assert!(!other.claim_data_dir()?);
    assert!(sluice_local::run::start(&next), "the owner schedules");
    assert!(
        !sluice_local::run::start(&other),
        "the other server never does"
    );
    Ok(())
}

#[test]
fn an_embedded_server_beside_a_daemon_does_not_own_the_dir() -> TestResult {
    let dir = tempfile::tempdir()?;
    let running = start(dir.path(), None);
    // The in-process server reads the same database but leaves scheduling to the daemon.
    let embedded = sluice_local::EmbeddedServer::start(dir.path())?;
    let probe = AppState::new(Store::open(dir.path())?, dir.path().to_path_buf());
    assert!(!probe.claim_data_dir()?, "the daemon holds the lock");
    drop(embedded);
    stop(dir.path(), running);
    Ok(())
}

fn basic(auth: &str) -> (String, String) {
    let (u, p) = auth.split_once(':').expect("uuid:key");
    (u.to_string(), p.to_string())
}

async fn put_action(
    http: &reqwest::Client,
    host: &str,
    auth: &str,
    ns: &str,
    name: &str,
    code: &str,
) -> TestResult {
    let (u, p) = basic(auth);
    let resp = http
        .put(format!("{host}/api/v1/namespaces/{ns}/actions/{name}"))
        .basic_auth(u, Some(p))
        .json(&json!({"exec": {"kind": "nodejs:default", "code": code}}))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 200, "{}", resp.text().await?);
    Ok(())
}

async fn get_json(
    http: &reqwest::Client,
    url: &str,
    auth: &str,
) -> Result<(u16, Value), reqwest::Error> {
    let (u, p) = basic(auth);
    let resp = http.get(url).basic_auth(u, Some(p)).send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or(Value::Null)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_activation_is_listed_and_read_then_replaced_by_its_record() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path().to_path_buf();
    let running = tokio::task::spawn_blocking(move || start(&d, None)).await?;
    let host = running.api_host.clone();
    let auth = running.auth.clone();
    let http = reqwest::Client::new();
    let code =
        "function main(a) { return new Promise(r => setTimeout(() => r({slept: a.ms}), a.ms)) }";
    put_action(&http, &host, &auth, "_", "sleepy", code).await?;
    let (u, p) = basic(&auth);
    let started = Instant::now();
    let resp = http
        .post(format!(
            "{host}/api/v1/namespaces/_/actions/sleepy?blocking=false"
        ))
        .basic_auth(&u, Some(&p))
        .json(&json!({"ms": 1500}))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 202);
    let id = resp.json::<Value>().await?["activationId"]
        .as_str()
        .expect("activation id")
        .to_string();
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "a non-blocking invoke answers at once"
    );
    let url = format!("{host}/api/v1/namespaces/_/activations/{id}");
    let (code_now, now) = get_json(&http, &url, &auth).await?;
    assert_eq!(code_now, 200, "{now}");
    assert_eq!(now["response"]["status"], json!("running"));
    assert!(now.get("end").is_none());
    let (_, list) = get_json(
        &http,
        &format!("{host}/api/v1/namespaces/_/activations"),
        &auth,
    )
    .await?;
    assert_eq!(list[0]["activationId"], json!(id));
    let (_, count) = get_json(
        &http,
        &format!("{host}/api/v1/namespaces/_/activations?count=true"),
        &auth,
    )
    .await?;
    assert_eq!(count, json!({"activations": 1}));
    let deadline = Instant::now() + Duration::from_secs(30);
    let done = loop {
        let (_, a) = get_json(&http, &url, &auth).await?;
        if a["response"]["status"] != json!("running") {
            break a;
        }
        assert!(Instant::now() < deadline, "the activation never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["response"]["result"], json!({"slept": 1500}));
    let (_, list) = get_json(
        &http,
        &format!("{host}/api/v1/namespaces/_/activations"),
        &auth,
    )
    .await?;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    let (missing, _) = get_json(
        &http,
        &format!("{host}/api/v1/namespaces/_/activations/0123456789abcdef0123456789abcdef"),
        &auth,
    )
    .await?;
    assert_eq!(missing, 404);
    let d = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || stop(&d, running)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_namespaces_cannot_see_each_others_entities() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path().to_path_buf();
    let running = tokio::task::spawn_blocking(move || start(&d, None)).await?;
    let (file, _) = client::probe(dir.path()).expect("it answers");
    let dev = client::create_namespace(&file, "dev")?;
    let stage = client::create_namespace(&file, "stage")?;
    assert_ne!(dev.auth, stage.auth, "each has its own key");
    assert_eq!(client::namespaces(&file)?, vec!["dev", "local", "stage"]);
    let host = running.api_host.clone();
    let http = reqwest::Client::new();
    put_action(
        &http,
        &host,
        &dev.auth,
        "_",
        "only-dev",
        "function main() { return {} }",
    )
    .await?;
    let (_, dev_list) = get_json(
        &http,
        &format!("{host}/api/v1/namespaces/_/actions"),
        &dev.auth,
    )
    .await?;
    assert_eq!(dev_list[0]["name"], json!("only-dev"));
    assert_eq!(dev_list[0]["namespace"], json!("dev"));
    let (_, stage_list) = get_json(
        &http,
        &format!("{host}/api/v1/namespaces/_/actions"),
        &stage.auth,
    )
    .await?;
    assert_eq!(stage_list, json!([]));
    // Naming the other namespace does not help.
    let (code, _) = get_json(
        &http,
        &format!("{host}/api/v1/namespaces/dev/actions/only-dev"),
        &stage.auth,
    )
    .await?;
    assert!(
        code == 403 || code == 401 || code == 404,
        "stage reads dev's action: {code}"
    );
    let (code, _) = get_json(
        &http,
        &format!("{host}/api/v1/namespaces/_/actions/only-dev"),
        &running.auth,
    )
    .await?;
    assert_eq!(code, 404, "local sees dev's action");
    // Deleting a namespace takes its entities and its key with it.
    client::delete_namespace(&file, "dev")?;
    assert!(client::namespace(&file, "dev")?.is_none());
    let (code, _) = get_json(
        &http,
        &format!("{host}/api/v1/namespaces/_/actions"),
        &dev.auth,
    )
    .await?;
    assert_eq!(code, 401);
    assert!(
        client::delete_namespace(&file, "local").is_err(),
        "local stays"
    );
    let d = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || stop(&d, running)).await?;
    Ok(())
}
