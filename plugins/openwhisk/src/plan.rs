//! `plan`: what a deploy would change, entity by entity, from the project, the recorded
//! versions and what the namespace holds ([`ServerState`]). A `GET` is made only for an
//! entity that will be updated, to name what differs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use futures::future::join_all;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sluice_core::changes::hex;
use sluice_core::{
    ActionSpec, ChangeKind, DeployStructure, DeployerAnnotation, Dict, PackageSpec, Plan,
    PlanEntity, PlannedChange, Reason, RuntimeTable, VersionEntry, VersionInfo,
};

use crate::annotation;
use crate::body::{self, Exec};
use crate::client::Client;
use crate::code::read_code;
use crate::digest;
use crate::error::Result;
use crate::server_state::{ServerEntity, ServerPackage, ServerState};
use crate::triggers::{TriggersApi, trigger_body};

/// Annotations that say how a function is exposed on the web.
const WEB_ANNOTATIONS: [&str; 4] = [
    "web-export",
    "raw-http",
    "require-whisk-auth",
    "web-custom-options",
];

/// Everything a plan is made from.
pub(crate) struct Inputs<'a> {
    pub client: &'a Client,
    pub triggers: Option<&'a TriggersApi>,
    pub namespace: &'a str,
    pub apihost: &'a str,
    pub project: &'a DeployStructure,
    pub project_dir: Option<&'a Path>,
    pub state: &'a ServerState,
    pub old: &'a VersionEntry,
    pub annotation: &'a DeployerAnnotation,
    pub runtimes: &'a RuntimeTable,
    pub prune: bool,
}

/// An entity to compare in detail (a `GET` of its record).
struct Detail {
    index: usize,
    url: reqwest::Url,
    local: Value,
}

fn short_hash(text: &str) -> String {
    digest::short(&hex(&Sha256::digest(text.as_bytes())))
}

/// Create, update, unchanged or changed outside sluice, from what the namespace holds, what
/// was recorded and the project's digest.
fn classify(
    server: Option<&ServerEntity>,
    recorded: Option<&VersionInfo>,
    local_digest: &str,
    ours: &DeployerAnnotation,
) -> (ChangeKind, Vec<Reason>) {
    let Some(server) = server else {
        return (ChangeKind::Create, Vec::new());
    };
    let Some(server_digest) = server.digest() else {
        return (ChangeKind::Update, vec![Reason::NotDeployedBySluice]);
    };
    if !server.deployed_by(ours) {
        let project = server
            .deployer
            .as_ref()
            .map(DeployerAnnotation::best_project_name)
            .unwrap_or_default();
        return (ChangeKind::Update, vec![Reason::OtherProject { project }]);
    }
    if let Some(recorded) = recorded {
        let same_version = recorded.version == server.version;
        let same_digest = digest::short(&recorded.digest) == server_digest;
        if !same_version {
            let reason = Reason::Version {
                recorded: recorded.version.clone(),
                server: server.version.clone(),
            };
            return (ChangeKind::ChangedOutsideSluice, vec![reason]);
        }
        if !same_digest {
            let reason = Reason::Digest {
                from: digest::short(&recorded.digest),
                to: server_digest.to_string(),
            };
            return (ChangeKind::ChangedOutsideSluice, vec![reason]);
        }
    }
    if server_digest == digest::short(local_digest) {
        (ChangeKind::Unchanged, Vec::new())
    } else {
        (ChangeKind::Update, Vec::new())
    }
}

fn entry(
    entity: PlanEntity,
    name: &str,
    (change, reasons): (ChangeKind, Vec<Reason>),
    server: Option<&ServerEntity>,
    digest: Option<String>,
) -> PlannedChange {
    let mut c = PlannedChange::new(entity, name, change);
    c.reasons = reasons;
    c.server_version = server.map(|s| s.version.clone());
    c.digest = digest;
    c
}

/// Names added, changed and removed between two dictionaries.
fn dict_diff(server: &Dict, local: &Dict) -> (Vec<String>, Vec<String>, Vec<String>) {
    let added = local
        .keys()
        .filter(|k| !server.contains_key(*k))
        .cloned()
        .collect();
    let changed = local
        .iter()
        .filter(|(k, v)| server.get(*k).is_some_and(|s| s != *v))
        .map(|(k, _)| k.clone())
        .collect();
    let removed = server
        .keys()
        .filter(|k| !local.contains_key(*k))
        .cloned()
        .collect();
    (added, changed, removed)
}

/// Parameters and environment (`init: true`) of a `[{key, value, init?}]` array.
fn split_parameters(value: Option<&Value>) -> (Dict, Dict) {
    let mut params = Dict::new();
    let mut env = Dict::new();
    for item in value.and_then(Value::as_array).into_iter().flatten() {
        let (Some(k), Some(v)) = (item.get("key").and_then(Value::as_str), item.get("value"))
        else {
            continue;
        };
        if item.get("init").and_then(Value::as_bool) == Some(true) {
            env.insert(k.to_string(), v.clone());
        } else {
            params.insert(k.to_string(), v.clone());
        }
    }
    (params, env)
}

/// What differs between the namespace's record and the body the deploy would send.
fn reasons_between(server: &Value, local: &Value, runtimes: &RuntimeTable) -> Vec<Reason> {
    let mut reasons = Vec::new();
    let (mut sp, se) = split_parameters(server.get("parameters"));
    let (lp, le) = split_parameters(local.get("parameters"));
    // OpenWhisk keeps a sequence's components in a parameter of its own as well: not the
    // project's, so not a parameter it removes.
    let is_sequence = |e: &Value| {
        e.get("exec")
            .and_then(|x| x.get("kind"))
            .and_then(Value::as_str)
            == Some("sequence")
    };
    if is_sequence(local) && is_sequence(server) {
        sp.remove("_actions");
    }
    if let Some(exec) = local.get("exec") {
        let server_exec = server.get("exec").cloned().unwrap_or(Value::Null);
        let kind = |e: &Value| {
            let k = e.get("kind").and_then(Value::as_str).unwrap_or_default();
            runtimes.canonical(k).to_string()
        };
        if kind(&server_exec) != kind(exec) {
            reasons.push(Reason::Kind {
                from: kind(&server_exec),
                to: kind(exec),
            });
        }
        if let Some(code) = exec.get("code").and_then(Value::as_str) {
            let theirs = server_exec
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if theirs != code {
                reasons.push(Reason::Code {
                    from: short_hash(theirs),
                    to: short_hash(code),
                });
            }
        }
        if exec.get("components").is_some()
            && exec.get("components") != server_exec.get("components")
        {
            reasons.push(Reason::Components);
        }
    }
    let (added, changed, removed) = dict_diff(&sp, &lp);
    if !(added.is_empty() && changed.is_empty() && removed.is_empty()) {
        reasons.push(Reason::Parameters {
            added,
            changed,
            removed,
        });
    }
    let (added, changed, removed) = dict_diff(&se, &le);
    if !(added.is_empty() && changed.is_empty() && removed.is_empty()) {
        reasons.push(Reason::Environment {
            added,
            changed,
            removed,
        });
    }
    // Annotations: only what the project sets counts (the controller keeps the others).
    let theirs = body::kv_to_dict(server.get("annotations"));
    let mine = body::kv_to_dict(local.get("annotations"));
    let mut web = false;
    let mut names = Vec::new();
    for (k, v) in &mine {
        if k == "deployer" || theirs.get(k) == Some(v) {
            continue;
        }
        // An unset `false` flag equals an absent one.
        if v == &Value::Bool(false) && !theirs.contains_key(k) {
            continue;
        }
        if WEB_ANNOTATIONS.contains(&k.as_str()) {
            web = true;
        } else {
            names.push(k.clone());
        }
    }
    if !names.is_empty() {
        reasons.push(Reason::Annotations { names });
    }
    if web {
        reasons.push(Reason::Web);
    }
    if let Some(limits) = local.get("limits").and_then(Value::as_object) {
        let server_limits = server.get("limits");
        let names: Vec<String> = limits
            .iter()
            .filter(|(k, v)| server_limits.and_then(|l| l.get(k.as_str())) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect();
        if !names.is_empty() {
            reasons.push(Reason::Limits { names });
        }
    }
    if let (Some(from), Some(to)) = (
        server
            .get("binding")
            .filter(|_| crate::server_state::is_binding(server)),
        local.get("binding"),
    ) {
        let name = |b: &Value| {
            format!(
                "{}/{}",
                b.get("namespace").and_then(Value::as_str).unwrap_or("_"),
                b.get("name").and_then(Value::as_str).unwrap_or_default()
            )
        };
        if name(from) != name(to) {
            reasons.push(Reason::Binding {
                from: name(from),
                to: name(to),
            });
        }
    }
    reasons
}

impl Inputs<'_> {
    fn code(&self, action: &ActionSpec) -> std::result::Result<String, String> {
        match &action.file {
            Some(file) => read_code(self.project_dir, action, file),
            None => Ok(String::new()),
        }
    }

    fn deployer_value(&self, digest: &str, zipped: Option<bool>) -> Value {
        annotation::for_entity(self.annotation, Some(digest::short(digest)), zipped)
    }

    /// `deleted`: the functions this plan deletes (`--prune`), the only ones a package's
    /// `functions` reason may list as removed.
    fn plan_package(
        &self,
        pkg: &PackageSpec,
        deleted: &BTreeSet<String>,
        changes: &mut Vec<PlannedChange>,
    ) {
        let digest = digest::package_digest(pkg);
        let server: Option<&ServerPackage> = self.state.package(&pkg.name);
        let kind = if pkg.binding.is_some() {
            PlanEntity::Binding
        } else {
            PlanEntity::Package
        };
        let classified = classify(
            server.map(|s| &s.entity),
            self.old.package_versions.get(&pkg.name),
            &digest,
            self.annotation,
        );
        let change = classified.0;
        changes.push(entry(
            kind,
            &pkg.name,
            classified,
            server.map(|s| &s.entity),
            Some(digest.clone()),
        ));
        if let (Some(server), true) = (server, change.is_change() && change != ChangeKind::Create) {
            let local = body::package_body(
                self.project,
                pkg,
                Dict::new(),
                self.deployer_value(&digest, None),
            );
            let mut reasons = reasons_between(&server.record, &local, self.runtimes);
            // Only what this deploy does to the package's functions: those it creates, and
            // those it deletes. A function another project or another tool put there, or one
            // this project dropped without --prune, stays as it is and is not named.
            let theirs: BTreeSet<&str> = server.actions.keys().map(String::as_str).collect();
            let mine: BTreeSet<&str> = pkg.actions.iter().map(|a| a.name.as_str()).collect();
            let added: Vec<String> = mine.difference(&theirs).map(|n| n.to_string()).collect();
            let removed: Vec<String> = theirs
                .difference(&mine)
                .filter(|n| deleted.contains(&format!("{}/{n}", pkg.name)))
                .map(|n| n.to_string())
                .collect();
            if !(added.is_empty() && removed.is_empty()) {
                reasons.push(Reason::Functions { added, removed });
            }
            if reasons.is_empty() {
                reasons.push(Reason::Digest {
                    from: server.entity.digest().unwrap_or_default().to_string(),
                    to: digest::short(&digest),
                });
            }
            if let Some(last) = changes.last_mut() {
                last.reasons.extend(reasons);
            }
        }
    }

    fn plan_action(
        &self,
        pkg: &PackageSpec,
        action: &ActionSpec,
        changes: &mut Vec<PlannedChange>,
        details: &mut Vec<Detail>,
    ) {
        let name = action.qualified_name(&pkg.name);
        let server = self.state.action(&name);
        let (entity, digest, local) = match &action.sequence {
            Some(components) => {
                let digest = digest::action_digest(action, "");
                let fq: Vec<String> = components
                    .iter()
                    .map(|c| crate::sequences::qualify(self.namespace, c))
                    .collect();
                let local = body::action_body(
                    action,
                    Exec::Sequence(&fq),
                    self.deployer_value(&digest, None),
                );
                (PlanEntity::Sequence, digest, local)
            }
            None => {
                // An unreadable file is the deploy's failure to report; the plan still compares.
                let code = self.code(action).unwrap_or_default();
                let digest = digest::action_digest(action, &code);
                let runtime = action.runtime.as_deref().unwrap_or_default();
                let local = body::action_body(
                    action,
                    Exec::Code {
                        code: &code,
                        runtime,
                    },
                    self.deployer_value(&digest, action.zipped),
                );
                (PlanEntity::Function, digest, local)
            }
        };
        let recorded = match entity {
            // Sequences are not recorded in the versions file.
            PlanEntity::Sequence => None,
            _ => self.old.action_versions.get(&name),
        };
        let classified = classify(server, recorded, &digest, self.annotation);
        let change = classified.0;
        let mut planned = entry(entity, &name, classified, server, Some(digest));
        if entity == PlanEntity::Function && change.is_change() {
            // What a policy checks ("no function over 256 MB"): the function as it is sent.
            planned.kind = local
                .pointer("/exec/kind")
                .and_then(Value::as_str)
                .map(str::to_string);
            planned.limits = local.get("limits").and_then(Value::as_object).map(|l| {
                l.iter()
                    .filter_map(|(k, v)| v.as_u64().map(|n| (k.clone(), n)))
                    .collect()
            });
        }
        changes.push(planned);
        if server.is_some() && change.is_change() {
            let mut url = self.client.entity_url("actions", &name);
            url.query_pairs_mut().append_pair("code", "true");
            details.push(Detail {
                index: changes.len() - 1,
                url,
                local,
            });
        }
    }

    fn prunes(&self) -> Vec<PlannedChange> {
        let mut out = Vec::new();
        let ours = |e: &ServerEntity| e.deployed_by(self.annotation);
        let delete = |entity: PlanEntity, name: String, e: &ServerEntity| {
            let mut c = PlannedChange::new(entity, name, ChangeKind::Delete);
            c.server_version = Some(e.version.clone());
            c
        };
        let kind_of = |e: &ServerEntity| match e.exec.as_deref() {
            Some("sequence") => PlanEntity::Sequence,
            _ => PlanEntity::Function,
        };
        let in_project: BTreeSet<String> = self
            .project
            .actions()
            .map(|(p, a)| a.qualified_name(&p.name))
            .collect();
        for (pkg, server) in &self.state.packages {
            for (a, e) in server.iter().flat_map(|s| &s.actions) {
                let name = format!("{pkg}/{a}");
                if ours(e) && !in_project.contains(&name) {
                    out.push(delete(kind_of(e), name, e));
                }
            }
        }
        for (a, e) in &self.state.default_actions {
            if ours(e) && !in_project.contains(a) {
                out.push(delete(kind_of(e), a.clone(), e));
            }
        }
        for (pkg, server) in &self.state.other_packages {
            if !ours(&server.entity) {
                continue;
            }
            // A package goes only with all of its actions, so only when they are all ours.
            if server.actions.values().all(ours) {
                for (a, e) in &server.actions {
                    out.push(delete(kind_of(e), format!("{pkg}/{a}"), e));
                }
                out.push(delete(PlanEntity::Package, pkg.clone(), &server.entity));
            }
        }
        out
    }
}

/// The plan of `inputs.project`.
pub(crate) async fn plan(inputs: Inputs<'_>) -> Result<Plan> {
    let mut changes = Vec::new();
    let mut details = Vec::new();
    let prunes = match inputs.prune {
        true => inputs.prunes(),
        false => Vec::new(),
    };
    let deleted: BTreeSet<String> = prunes.iter().map(|c| c.name.clone()).collect();
    for pkg in &inputs.project.packages {
        if !pkg.is_default() && pkg.deployed_during_build != Some(true) {
            inputs.plan_package(pkg, &deleted, &mut changes);
        }
        for action in &pkg.actions {
            inputs.plan_action(pkg, action, &mut changes, &mut details);
        }
    }
    let (triggers, listed) = plan_all_triggers(&inputs, &deleted).await?;
    changes.extend(triggers);
    changes.extend(prunes);
    let fetched = join_all(details.iter().map(|d| inputs.client.get(d.url.clone()))).await;
    for (detail, got) in details.iter().zip(fetched) {
        let server = got?;
        let reasons = reasons_between(&server, &detail.local, inputs.runtimes);
        if let Some(change) = changes.get_mut(detail.index) {
            if change.reasons.is_empty() && reasons.is_empty() {
                let to = change
                    .digest
                    .as_deref()
                    .map(digest::short)
                    .unwrap_or_default();
                let from = inputs
                    .state
                    .action(&change.name)
                    .and_then(ServerEntity::digest)
                    .unwrap_or_default()
                    .to_string();
                change.reasons.push(Reason::Digest { from, to });
            }
            change.reasons.extend(reasons);
        }
    }
    let mut plan = Plan::new(
        inputs.apihost,
        inputs.namespace,
        changes,
        server_digest(inputs.state, listed.as_deref()),
    );
    plan.prune = inputs.prune;
    Ok(plan)
}

/// The namespace's fingerprint: the versions of what was read, and the triggers listed
/// (`None` when they were not), so a trigger edited on the server makes a saved plan stale.
fn server_digest(state: &ServerState, triggers: Option<&[Value]>) -> String {
    let fingerprint = state.fingerprint();
    let Some(triggers) = triggers else {
        return fingerprint;
    };
    let mut sorted: Vec<String> = triggers.iter().map(trigger_fingerprint).collect();
    sorted.sort();
    let mut h = Sha256::new();
    h.update(fingerprint.as_bytes());
    for t in sorted {
        h.update([0]);
        h.update(t.as_bytes());
    }
    hex(&h.finalize())
}

/// The fields of a listed trigger a deploy sets, as one string: a trigger's fingerprint in
/// the server digest and its "server version" in a plan (the triggers API has no versions).
fn trigger_fingerprint(server: &Value) -> String {
    let field = |k: &str| server.get(k).cloned().unwrap_or(Value::Null);
    serde_json::json!([
        field("name"),
        field("function"),
        field("is_enabled"),
        field("scheduled_details")
    ])
    .to_string()
}

/// The fields of a trigger that differ between the namespace's (as listed) and the one the
/// project declares (a [`trigger_body`]).
pub(crate) fn trigger_differences(server: &Value, local: &Value) -> Vec<String> {
    ["function", "is_enabled", "scheduled_details"]
        .into_iter()
        .filter(|k| server.get(*k) != local.get(*k))
        .map(str::to_string)
        .collect()
}

/// The triggers of `project` that a deploy must send although their functions are skipped:
/// those missing from `listed` (the namespace's triggers) or different there.
pub(crate) fn stale_triggers(project: &DeployStructure, listed: &[Value]) -> BTreeSet<String> {
    let by_name: BTreeMap<&str, &Value> = listed
        .iter()
        .filter_map(|t| Some((t.get("name").and_then(Value::as_str)?, t)))
        .collect();
    let mut stale = BTreeSet::new();
    for (pkg, action) in project.actions() {
        let function = action.qualified_name(&pkg.name);
        for trigger in action.triggers.iter().flatten() {
            let local = trigger_body(trigger, &function);
            let differs = by_name
                .get(trigger.name.as_str())
                .is_none_or(|server| !trigger_differences(server, &local).is_empty());
            if differs {
                stale.insert(trigger.name.clone());
            }
        }
    }
    stale
}

/// A short digest of what the project declares for a trigger (its plan entry's `digest`).
fn trigger_digest(local: &Value) -> String {
    hex(&Sha256::digest(local.to_string().as_bytes()))
}

/// Scheduled triggers (DigitalOcean's triggers API), when the namespace has that API, and
/// the triggers listed (`None` when the plan did not need to list them). `deleted`: the
/// functions this plan deletes.
async fn plan_all_triggers(
    inputs: &Inputs<'_>,
    deleted: &BTreeSet<String>,
) -> Result<(Vec<PlannedChange>, Option<Vec<Value>>)> {
    let declared: Vec<(&ActionSpec, String)> = inputs
        .project
        .actions()
        .filter(|(_, a)| a.triggers.as_ref().is_some_and(|t| !t.is_empty()))
        .map(|(p, a)| (a, a.qualified_name(&p.name)))
        .collect();
    let Some(api) = inputs.triggers else {
        return Ok((Vec::new(), None));
    };
    if declared.is_empty() && !inputs.prune {
        return Ok((Vec::new(), None));
    }
    let listed = api.list(inputs.namespace).await?;
    let by_name: BTreeMap<&str, &Value> = listed
        .iter()
        .filter_map(|t| Some((t.get("name").and_then(Value::as_str)?, t)))
        .collect();
    let mut out = Vec::new();
    let mut declared_names = BTreeSet::new();
    for (action, function) in &declared {
        for trigger in action.triggers.iter().flatten() {
            declared_names.insert(trigger.name.as_str());
            let local = trigger_body(trigger, function);
            let mut change = match by_name.get(trigger.name.as_str()) {
                None => PlannedChange::new(PlanEntity::Trigger, &trigger.name, ChangeKind::Create),
                Some(server) => {
                    let names = trigger_differences(server, &local);
                    let kind = if names.is_empty() {
                        ChangeKind::Unchanged
                    } else {
                        ChangeKind::Update
                    };
                    let mut c = PlannedChange::new(PlanEntity::Trigger, &trigger.name, kind);
                    if !names.is_empty() {
                        c.reasons.push(Reason::Trigger { names });
                    }
                    c.server_version = Some(short_hash(&trigger_fingerprint(server)));
                    c
                }
            };
            change.digest = Some(trigger_digest(&local));
            out.push(change);
        }
    }
    if inputs.prune {
        // Triggers carry no deployer annotation, so only a trigger of a function this plan
        // deletes is known to be this project's.
        for (name, server) in &by_name {
            let function = server.get("function").and_then(Value::as_str);
            if !declared_names.contains(name) && function.is_some_and(|f| deleted.contains(f)) {
                let mut c = PlannedChange::new(PlanEntity::Trigger, *name, ChangeKind::Delete);
                c.server_version = Some(short_hash(&trigger_fingerprint(server)));
                out.push(c);
            }
        }
    }
    Ok((out, Some(listed)))
}
