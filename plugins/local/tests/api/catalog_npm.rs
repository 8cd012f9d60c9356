//! The standard catalog through the official `openwhisk` npm client: `/whisk.system/utils`
//! actions alone and in a sequence, alarm feeds (`interval`, `alarm` with cron, `once`) whose
//! triggers fire their rule when the scheduler ticks, API gateway routes created, listed,
//! called over HTTP and deleted, and a binding to `/nimbella/builder`.
//!
//! The scheduler is ticked directly at a time past every schedule (the embedded server never
//! runs it: only a data directory's owner does), so the test waits for no clock.

use std::path::Path;

use serde_json::Value;
use sluice_local::scheduler::{Schedule, tick};

use crate::npm_client::install_client;
use crate::support::{Api, TestResult, redact};

/// Each phase prints one JSON array of `{"step", "value"}` or `{"step", "error", "status"}`.
const SCRIPT: &str = r#"
const openwhisk = require(process.env.OW_CLIENT);
const ow = openwhisk({ apihost: process.env.OW_APIHOST, api_key: process.env.OW_AUTH });
const out = [];
async function step(name, f) {
  try {
    out.push({ step: name, value: await f() });
  } catch (e) {
    out.push({ step: name, error: e.message, status: e.statusCode });
  }
}
const result = (a) => a.response.result;
const invoke = (name, params) => ow.actions.invoke({ name, params, blocking: true, result: true });
const HELLO = 'function main(p) { return { greeting: "Hello " + (p.name || "stranger") } }';

async function utils() {
  await step('packages.list whisk.system', async () =>
    (await ow.packages.list({ namespace: 'whisk.system' })).map((p) => [p.name, p.publish]));
  await step('packages.get utils', async () =>
    (await ow.packages.get({ name: '/whisk.system/utils' })).actions.map((a) => a.name).sort());
  await step('echo', () => invoke('/whisk.system/utils/echo', { payload: 'Five fuzzy felines' }));
  await step('cat', () => invoke('/whisk.system/utils/cat', { lines: [4, 2, 3] }));
  await step('sort', () => invoke('/whisk.system/utils/sort', { lines: ['pear', 'apple', 'fig'] }));
  await step('head', () => invoke('/whisk.system/utils/head', { lines: [4, 2, 3], num: 2 }));
  await step('split', () => invoke('/whisk.system/utils/split', { payload: 'one,two,three', separator: ',' }));
  await step('wordCount', () => invoke('/whisk.system/utils/wordCount', { payload: 'Five fuzzy felines' }));
  await step('date', async () => typeof (await invoke('/whisk.system/utils/date', {})).date);
  await step('actions.create (sequence of utils)', async () => (await ow.actions.create({
    name: 'lines', sequence: ['/whisk.system/utils/split', '/whisk.system/utils/sort', '/whisk.system/utils/cat'] })).exec.kind);
  await step('actions.invoke (sequence)', () => invoke('lines', { payload: 'pear\napple\nfig' }));
  await step('actions.update (into whisk.system)', () => ow.actions.update({ name: '/whisk.system/utils/echo', action: 'x' }));
  await step('packages.create (binding to nimbella/builder)', async () => {
    const b = await ow.packages.create({ name: 'builder', package: { binding: { namespace: 'nimbella', name: 'builder' } } });
    return b.binding;
  });
  await step('packages.get (binding)', async () => (await ow.packages.get('builder')).binding);
  await step('packages.create (binding to a missing package)', () =>
    ow.packages.create({ name: 'nope', package: { binding: { namespace: 'nimbella', name: 'missing' } } }));
}

async function alarmsCreate() {
  await step('actions.create hello', async () => (await ow.actions.create({ name: 'hello', action: HELLO })).name);
  for (const [t, feed, params] of [
    ['every-minute', 'interval', { minutes: 1, trigger_payload: { name: 'interval' } }],
    ['cron', 'alarm', { cron: '*/5 * * * *', trigger_payload: { name: 'cron' } }],
    ['once', 'once', { date: new Date(Date.now() + 60000).toISOString(), deleteAfterFire: 'true', trigger_payload: { name: 'once' } }],
  ]) {
    await step(`triggers.create ${t}`, async () => (await ow.triggers.create({ name: t, trigger: {
      annotations: [{ key: 'feed', value: `/whisk.system/alarms/${feed}` }] } })).name);
    await step(`rules.create ${t}`, async () => (await ow.rules.create({ name: `on-${t}`, action: 'hello', trigger: t })).status);
    await step(`feeds.create ${t}`, async () => result(await ow.feeds.create({ name: `/whisk.system/alarms/${feed}`, trigger: t, params })));
  }
  await step('feeds.create (bad cron)', async () => {
    await ow.triggers.create({ name: 'bad' });
    return ow.feeds.create({ name: '/whisk.system/alarms/alarm', trigger: 'bad', params: { cron: 'every day' } });
  });
  await step('feeds.get every-minute', async () => {
    const r = result(await ow.feeds.get({ name: '/whisk.system/alarms/interval', trigger: 'every-minute' }));
    return { config: { ...r.config, startDate: typeof r.config.startDate }, active: r.status.active };
  });
  await step('feeds.get cron', async () => result(await ow.feeds.get({ name: '/whisk.system/alarms/alarm', trigger: 'cron' })).config);
}

async function alarmsAfterTick() {
  await step('activations of hello', async () => {
    for (let i = 0; i < 100; i++) {
      const list = await ow.activations.list({ name: 'hello', docs: true });
      const done = list.filter((a) => a.response && a.response.status === 'success');
      if (done.length >= 3) return done.map((a) => a.response.result.greeting).sort();
      await new Promise((r) => setTimeout(r, 100));
    }
    return 'fewer than three firings ran hello';
  });
  await step('triggers.get once (deleted after firing)', () => ow.triggers.get('once'));
  await step('feeds.update every-minute', async () => {
    await ow.feeds.update({ name: '/whisk.system/alarms/interval', trigger: 'every-minute', params: { minutes: 5 } });
    return result(await ow.feeds.get({ name: '/whisk.system/alarms/interval', trigger: 'every-minute' })).config.minutes;
  });
  await step('feeds.update every-minute (nothing to update)', () =>
    ow.feeds.update({ name: '/whisk.system/alarms/interval', trigger: 'every-minute', params: { cron: '* * * * *' } }));
  await step('feed PAUSE every-minute', async () => {
    await ow.actions.invoke({ name: '/whisk.system/alarms/interval', blocking: true,
      params: { lifecycleEvent: 'PAUSE', triggerName: '/_/every-minute', authKey: process.env.OW_AUTH } });
    const r = result(await ow.feeds.get({ name: '/whisk.system/alarms/interval', trigger: 'every-minute' }));
    return { active: r.status.active, reason: r.status.reason.kind };
  });
  await step('feeds.delete every-minute', async () => result(await ow.feeds.delete({ name: '/whisk.system/alarms/interval', trigger: 'every-minute' })));
  await step('feeds.delete cron', async () => result(await ow.feeds.delete({ name: '/whisk.system/alarms/alarm', trigger: 'cron' })));
  await step('feeds.get (deleted)', () => ow.feeds.get({ name: '/whisk.system/alarms/alarm', trigger: 'cron' }));
}

async function routes() {
  await step('packages.create demo', async () => (await ow.packages.create({ name: 'demo' })).name);
  await step('actions.create greet (web)', async () => (await ow.actions.create({ name: 'demo/greet',
    action: 'function main(p) { return { greeting: "Hello " + (p.name || "stranger"), method: p.__ow_method } }',
    annotations: { 'web-export': true } })).name);
  await step('actions.create plain (not web)', async () => (await ow.actions.create({ name: 'plain', action: HELLO })).name);
  await step('routes.create', async () => {
    const r = await ow.routes.create({ relpath: '/hello', operation: 'GET', action: 'demo/greet', basepath: '/demo', name: 'Demo API' });
    return { url: r.gwApiUrl.replace(process.env.OW_APIHOST, '[apihost]'), basePath: r.apidoc.basePath,
             title: r.apidoc.info.title, paths: r.apidoc.paths };
  });
  await step('routes.create (second verb)', async () => Object.keys((await ow.routes.create({
    relpath: '/hello', operation: 'POST', action: 'demo/greet', basepath: '/demo' })).apidoc.paths['/hello']).sort());
  await step('routes.create (not a web action)', () =>
    ow.routes.create({ relpath: '/plain', operation: 'GET', action: 'plain', basepath: '/demo' }));
  await step('routes.list', async () => (await ow.routes.list()).apis.map((a) => [a.id, a.value.apidoc.basePath, Object.keys(a.value.apidoc.paths)]));
  await step('routes.get', async () => (await ow.routes.get({ basepath: '/demo' })).apis.length);
  const url = `${process.env.OW_APIHOST}/api/local/demo/hello`;
  await step('GET route', async () => { const r = await fetch(`${url}?name=gateway`); return [r.status, await r.json()]; });
  await step('POST route', async () => {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'post' }) });
    return [r.status, await r.json()];
  });
  await step('PUT route (no such verb)', async () => (await fetch(url, { method: 'PUT' })).status);
  await step('routes.delete (one verb)', () => ow.routes.delete({ basepath: '/demo', relpath: '/hello', operation: 'POST' }));
  await step('POST route (deleted)', async () => (await fetch(url, { method: 'POST' })).status);
  await step('routes.delete (the API)', () => ow.routes.delete({ basepath: '/demo' }));
  await step('routes.list (empty)', async () => (await ow.routes.list()).apis);
  await step('GET route (deleted)', async () => (await fetch(url)).status);
  await step('routes.delete (missing)', () => ow.routes.delete({ basepath: '/demo' }));
}

const phases = { utils, alarmsCreate, alarmsAfterTick, routes };
phases[process.env.PHASE]().then(() => console.log(JSON.stringify(out)));
"#;

/// Runs one phase of [`SCRIPT`] against `api` and returns its steps, the API host redacted.
async fn run_phase(
    client: &Path,
    api: &Api,
    phase: &str,
) -> Result<Value, Box<dyn std::error::Error>> {
    let script = api.data_dir().join("catalog.js");
    std::fs::write(&script, SCRIPT)?;
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .env("OW_CLIENT", client.join("node_modules").join("openwhisk"))
        .env("OW_APIHOST", &api.server.apihost)
        .env("OW_AUTH", api.server.auth())
        .env("PHASE", phase)
        .output()
        .await?;
    assert!(
        out.status.success(),
        "node failed in {phase}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout)?.replace(&api.server.apihost, "[apihost]");
    Ok(redact(serde_json::from_str(&stdout)?))
}

fn failures(steps: &Value) -> Vec<String> {
    steps
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s.get("error").is_some())
        .filter_map(|s| s.get("step").and_then(Value::as_str).map(str::to_string))
        .collect()
}

#[tokio::test]
async fn utils_actions_run_alone_and_in_sequences_and_bind_to_nimbella_builder() -> TestResult {
    let client = tokio::task::spawn_blocking(install_client).await??;
    let api = Api::start();
    let steps = run_phase(&client, &api, "utils").await?;
    assert_eq!(
        failures(&steps),
        [
            "actions.update (into whisk.system)",
            "packages.create (binding to a missing package)"
        ],
        "{steps:#}"
    );
    insta::assert_yaml_snapshot!("catalog_utils", steps);
    Ok(())
}

#[tokio::test]
async fn alarm_feeds_fire_their_triggers_rules_on_the_scheduler_tick() -> TestResult {
    let client = tokio::task::spawn_blocking(install_client).await??;
    let api = Api::start();
    let created = run_phase(&client, &api, "alarmsCreate").await?;
    assert_eq!(
        failures(&created),
        ["feeds.create (bad cron)"],
        "{created:#}"
    );
    // The data directory's owner would tick every second; one tick two hours on is past
    // every schedule the phase created.
    let store = sluice_local::Store::open(api.data_dir())?;
    let state = sluice_local::AppState::new(store, api.data_dir().to_path_buf());
    let later = chrono::Utc::now() + chrono::Duration::hours(2);
    let fired = tick(&state, &mut Schedule::default(), later).await;
    assert_eq!(
        fired.len(),
        3,
        "each alarm fired its trigger once: {fired:?}"
    );
    let again = tick(&state, &mut Schedule::default(), later).await;
    assert!(
        again.is_empty(),
        "a fired alarm is planned afresh, not fired twice"
    );
    let after = run_phase(&client, &api, "alarmsAfterTick").await?;
    assert_eq!(
        failures(&after),
        [
            "triggers.get once (deleted after firing)",
            "feeds.update every-minute (nothing to update)",
            "feeds.get (deleted)"
        ],
        "{after:#}"
    );
    insta::assert_yaml_snapshot!("catalog_alarms", (created, after));
    Ok(())
}

#[tokio::test]
async fn api_routes_are_created_listed_called_and_deleted() -> TestResult {
    let client = tokio::task::spawn_blocking(install_client).await??;
    let api = Api::start();
    let steps = run_phase(&client, &api, "routes").await?;
    assert_eq!(
        failures(&steps),
        [
            "routes.create (not a web action)",
            "routes.delete (missing)"
        ],
        "{steps:#}"
    );
    insta::assert_yaml_snapshot!("catalog_routes", steps);
    Ok(())
}
