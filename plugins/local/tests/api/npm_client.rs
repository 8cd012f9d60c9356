//! The official `openwhisk` npm client (pinned) against the server: create, get, list,
//! update and delete an action, a package, a binding, a trigger and a rule.
//!
//! The client is installed once with npm into cargo's temporary directory for tests and
//! reused by later runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;

use crate::support::{Api, TestResult, redact};

/// The client version the compatibility test pins.
const OPENWHISK_NPM: &str = "3.21.9";

/// Several tests of this binary need the client at once: one of them installs it while the
/// others wait, and the install goes to a directory of its own that is renamed into place, so a
/// concurrent `cargo test` in another process never sees half a `node_modules`.
pub(crate) fn install_client() -> Result<PathBuf, String> {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = root.join(format!("openwhisk-npm-{OPENWHISK_NPM}"));
    let marker = |dir: &Path| {
        dir.join("node_modules")
            .join("openwhisk")
            .join("package.json")
            .is_file()
    };
    if marker(&dir) {
        return Ok(dir);
    }
    let staging = root.join(format!(
        "openwhisk-npm-{OPENWHISK_NPM}.installing-{}",
        std::process::id()
    ));
    let io = |e: std::io::Error| format!("{}: {e}", staging.display());
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(io)?;
    // A package.json of its own keeps npm from walking up into another project.
    std::fs::write(staging.join("package.json"), "{\"private\": true}\n").map_err(io)?;
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
        .arg(format!("openwhisk@{OPENWHISK_NPM}"))
        .current_dir(&staging)
        .output()
        .map_err(|e| format!("cannot run npm: {e}"))?;
    if !out.status.success() || !marker(&staging) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(format!(
            "npm install openwhisk@{OPENWHISK_NPM} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    // A leftover without the client (an interrupted older run) is replaced; a complete one
    // put there by another process meanwhile is kept.
    if dir.exists() && !marker(&dir) {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if std::fs::rename(&staging, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    if marker(&dir) {
        Ok(dir)
    } else {
        Err(format!(
            "{}: the installed client is missing",
            dir.display()
        ))
    }
}

/// Every step prints one JSON line: `{"step", "value"}` or `{"step", "error", "status"}`.
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
const brief = (e) => ({ namespace: e.namespace, name: e.name, version: e.version });
(async () => {
  await step('namespaces.list', () => ow.namespaces.list());
  await step('actions.create', async () => brief(await ow.actions.create({
    name: 'hello', action: 'function main(p) { return { greeting: "Hello " + (p.name || "stranger") } }',
    params: { name: 'default' }, annotations: { 'web-export': false } })));
  await step('actions.create (exists)', () => ow.actions.create({ name: 'hello', action: 'x' }));
  await step('actions.get', async () => {
    const a = await ow.actions.get('hello');
    return { ...brief(a), kind: a.exec.kind, parameters: a.parameters, annotations: a.annotations };
  });
  await step('actions.update', async () => brief(await ow.actions.update({
    name: 'hello', action: 'function main(p) { return { greeting: "Hi " + p.name } }' })));
  await step('actions.invoke', () => ow.actions.invoke({ name: 'hello', blocking: true, result: true, params: { name: 'npm' } }));
  await step('packages.create', async () => brief(await ow.packages.create({
    name: 'tools', package: { parameters: [{ key: 'p', value: 1 }] } })));
  await step('actions.create (in package)', async () => brief(await ow.actions.create({
    name: 'tools/inner', action: 'function main() { return {} }' })));
  await step('packages.get', async () => {
    const p = await ow.packages.get('tools');
    return { ...brief(p), actions: p.actions.map((a) => a.name) };
  });
  await step('packages.update', async () => brief(await ow.packages.update({
    name: 'tools', package: { parameters: [{ key: 'p', value: 2 }] } })));
  await step('packages.create (binding)', async () => {
    const b = await ow.packages.create({ name: 'mine', package: { binding: { namespace: '_', name: 'tools' } } });
    return { ...brief(b), binding: b.binding };
  });
  await step('packages.list', async () => (await ow.packages.list()).map((p) => [p.name, p.binding]).sort());
  await step('triggers.create', async () => brief(await ow.triggers.create({
    name: 'tick', trigger: { parameters: [{ key: 'n', value: 1 }] } })));
  await step('triggers.get', async () => (await ow.triggers.get('tick')).parameters);
  await step('triggers.update', async () => brief(await ow.triggers.update({ name: 'tick', trigger: {} })));
  await step('triggers.list', async () => (await ow.triggers.list()).map((t) => t.name));
  await step('rules.create', async () => {
    const r = await ow.rules.create({ name: 'every', action: 'hello', trigger: 'tick' });
    return { ...brief(r), status: r.status, trigger: r.trigger, action: r.action };
  });
  await step('rules.get', async () => (await ow.rules.get('every')).status);
  await step('rules.disable', async () => { await ow.rules.disable({ name: 'every' }); return (await ow.rules.get('every')).status; });
  await step('rules.enable', async () => { await ow.rules.enable({ name: 'every' }); return (await ow.rules.get('every')).status; });
  await step('rules.update', async () => brief(await ow.rules.update({ name: 'every', action: 'hello', trigger: 'tick' })));
  await step('rules.list', async () => (await ow.rules.list()).map((r) => r.name));
  await step('actions.list', async () => (await ow.actions.list()).map((a) => `${a.namespace}/${a.name}`).sort());
  await step('rules.delete', async () => (await ow.rules.delete({ name: 'every' })).status);
  await step('triggers.delete', async () => (await ow.triggers.delete({ name: 'tick' })).name);
  await step('packages.delete (binding)', async () => (await ow.packages.delete({ name: 'mine' })).name);
  await step('packages.delete (not empty)', () => ow.packages.delete({ name: 'tools' }));
  await step('actions.delete (in package)', async () => (await ow.actions.delete({ name: 'tools/inner' })).name);
  await step('packages.delete', async () => (await ow.packages.delete({ name: 'tools' })).name);
  await step('actions.delete', async () => (await ow.actions.delete({ name: 'hello' })).name);
  await step('actions.get (gone)', () => ow.actions.get('hello'));
  await step('actions.list (empty)', () => ow.actions.list());
  console.log(JSON.stringify(out));
})();
"#;

#[tokio::test]
async fn the_openwhisk_npm_client_manages_every_entity() -> TestResult {
    let client = tokio::task::spawn_blocking(install_client).await??;
    let api = Api::start();
    let script = api.data_dir().join("client.js");
    std::fs::write(&script, SCRIPT)?;
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .env("OW_CLIENT", client.join("node_modules").join("openwhisk"))
        .env("OW_APIHOST", &api.server.apihost)
        .env("OW_AUTH", api.server.auth())
        .output()
        .await?;
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Error messages carry the URL, whose port changes from run to run.
    let stdout = String::from_utf8(out.stdout)?.replace(&api.server.apihost, "[apihost]");
    let steps: Value = serde_json::from_str(&stdout)?;
    let failures: Vec<&Value> = steps
        .as_array()
        .ok_or("steps")?
        .iter()
        .filter(|s| s.get("error").is_some())
        .collect();
    // Exactly the three steps that must fail do, with the controller's messages.
    assert_eq!(failures.len(), 3, "{failures:#?}");
    insta::assert_yaml_snapshot!("npm_client", redact(steps));
    Ok(())
}
