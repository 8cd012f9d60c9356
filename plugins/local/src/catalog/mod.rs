//! The standard OpenWhisk catalog every local namespace sees: `/whisk.system/utils`,
//! `/whisk.system/alarms` (the alarm feeds), `/whisk.system/apimgmt` (the API gateway's
//! management actions) and the public `/nimbella/builder` package that projects bind to.
//!
//! Why it is built this way:
//! - The catalog is stored, not imagined: [`install`] writes its packages and actions into the
//!   store under the namespaces `whisk.system` and `nimbella` each time a data directory is
//!   prepared, so every read path (package get, action get, bindings, sequences, web
//!   actions) finds it exactly as it finds a user's entities. No key authenticates as those
//!   namespaces, so nobody can write into them; other namespaces see their published packages.
//! - `utils` are node actions that the ordinary runner executes. The feed and gateway actions
//!   need the database, so they are built in: stored as `blackbox` actions whose image is
//!   [`BUILTIN_IMAGE`]`:<package>/<action>`, and [`builtin`] tells [`crate::run`] to call
//!   [`run_builtin`] for them instead of the runner.
//! - It sits above the store and the runner's types and below [`crate::api`] and
//!   [`crate::run`]; it never fires triggers itself ([`crate::run::scheduler`] does, from the
//!   feeds table [`alarms`] fills).

pub mod alarms;
pub mod apimgmt;
pub mod builder;
mod utils;

use rusqlite::Transaction;
use serde_json::{Map, Value, json};

use crate::error::LocalError;
use crate::runner::ActivationStatus;
use crate::state::AppState;
use crate::store::{self, Action, ActionLimits, Exec, KeyValue, Package, Store, actions, packages};

/// OpenWhisk's system namespace.
pub const SYSTEM_NAMESPACE: &str = "whisk.system";
/// The namespace of the public builder package DigitalOcean projects bind to.
pub const NIMBELLA_NAMESPACE: &str = "nimbella";
/// The namespaces the catalog owns; no user namespace may take these names.
pub const CATALOG_NAMESPACES: &[&str] = crate::store::namespaces::RESERVED;
/// The `exec.image` prefix of built-in actions.
pub const BUILTIN_IMAGE: &str = "sluice/catalog";

const VERSION: &str = "0.0.1";
/// A fixed `updated` (2026-01-01T00:00:00Z), so re-installing changes nothing a client sees.
const UPDATED: i64 = 1_767_225_600_000;

/// True for `whisk.system` and `nimbella`.
pub fn is_catalog_namespace(namespace: &str) -> bool {
    CATALOG_NAMESPACES.contains(&namespace)
}

/// A built-in catalog action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// One of the alarms feeds.
    Feed(alarms::FeedKind),
    CreateApi,
    GetApi,
    DeleteApi,
    /// `/nimbella/builder/getUploadUrl`.
    GetUploadUrl,
    /// `/nimbella/builder/build_<runtime>` (one built-in for every runtime).
    Build,
}

impl Builtin {
    fn image_path(self) -> &'static str {
        match self {
            Builtin::Feed(k) => k.image_path(),
            Builtin::CreateApi => "apimgmt/createApi",
            Builtin::GetApi => "apimgmt/getApi",
            Builtin::DeleteApi => "apimgmt/deleteApi",
            Builtin::GetUploadUrl => "builder/getUploadUrl",
            Builtin::Build => "builder/build",
        }
    }

    const ALL: [Builtin; 6] = [
        Builtin::Feed(alarms::FeedKind::Cron),
        Builtin::Feed(alarms::FeedKind::Interval),
        Builtin::Feed(alarms::FeedKind::Once),
        Builtin::CreateApi,
        Builtin::GetApi,
        Builtin::DeleteApi,
    ];
}

/// The built-in that `action` is, if it is one of the catalog's.
pub fn builtin(action: &Action) -> Option<Builtin> {
    if !is_catalog_namespace(action.root_namespace()) || action.exec.kind != "blackbox" {
        return None;
    }
    let path = action
        .exec
        .image
        .as_deref()?
        .strip_prefix(BUILTIN_IMAGE)?
        .strip_prefix(':')?;
    Builtin::ALL
        .into_iter()
        .chain([Builtin::GetUploadUrl, Builtin::Build])
        .find(|b| b.image_path() == path)
}

/// What a built-in returns: the activation's status and result.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltinOutcome {
    pub status: ActivationStatus,
    pub result: Value,
}

impl BuiltinOutcome {
    pub(crate) fn success(result: Value) -> Self {
        BuiltinOutcome {
            status: ActivationStatus::Success,
            result,
        }
    }

    /// An application error `{"error": message}`.
    pub(crate) fn error(message: impl Into<String>) -> Self {
        BuiltinOutcome {
            status: ActivationStatus::ApplicationError,
            result: json!({ "error": message.into() }),
        }
    }
}

/// Runs the built-in `which` with `args` (parameters and request merged) for `invoker`.
pub async fn run_builtin(
    state: &AppState,
    which: Builtin,
    args: Map<String, Value>,
    invoker: &str,
) -> BuiltinOutcome {
    let outcome = match which {
        Builtin::Feed(kind) => alarms::lifecycle(state, kind, args).await,
        Builtin::CreateApi => apimgmt::create(state, args, invoker).await,
        Builtin::GetApi => apimgmt::get(state, args, invoker).await,
        Builtin::DeleteApi => apimgmt::delete(state, args, invoker).await,
        Builtin::GetUploadUrl => builder::get_upload_url(state, args, invoker).await,
        Builtin::Build => builder::build(state, args, invoker).await,
    };
    outcome.unwrap_or_else(|e| BuiltinOutcome {
        status: ActivationStatus::WhiskError,
        result: json!({ "error": e.to_string() }),
    })
}

/// Writes the catalog's packages and actions into `store` (replacing older copies, and
/// dropping actions a newer sluice no longer ships).
pub fn install(store: &Store) -> Result<(), LocalError> {
    store.with(|conn| store::write_tx(conn, install_in))
}

fn install_in(tx: &Transaction<'_>) -> Result<(), LocalError> {
    let node = sluice_core::RuntimeTable::builtin()
        .default_of("nodejs")
        .map_or_else(|| "nodejs:default".to_string(), str::to_string);
    let utils_pkg = package(SYSTEM_NAMESPACE, "utils", utils::package_annotations());
    write_package(tx, &utils_pkg)?;
    for a in utils::actions() {
        let exec = Exec {
            kind: node.clone(),
            code: Some(a.code.to_string()),
            image: None,
            main: None,
            components: None,
            binary: Some(false),
        };
        actions::put(tx, &action(&utils_pkg, a.name, exec, a.annotations))?;
    }
    let alarms_pkg = package(
        SYSTEM_NAMESPACE,
        "alarms",
        json!({"description": "Alarms and periodic utility",
               "parameters": [{"name": "trigger_payload", "required": false}]}),
    );
    write_package(tx, &alarms_pkg)?;
    let apimgmt_pkg = package(
        SYSTEM_NAMESPACE,
        "apimgmt",
        json!({"description": "API gateway management: create, list and delete API routes"}),
    );
    write_package(tx, &apimgmt_pkg)?;
    for b in Builtin::ALL {
        let (pkg, annotations) = match b {
            Builtin::Feed(kind) => (&alarms_pkg, kind.annotations()),
            _ => (&apimgmt_pkg, apimgmt::annotations(b)),
        };
        let name = b.image_path().rsplit('/').next().unwrap_or_default();
        actions::put(tx, &action(pkg, name, builtin_exec(b), annotations))?;
    }
    let builder_pkg = package(
        NIMBELLA_NAMESPACE,
        builder::PACKAGE,
        json!({"description": "Remote builds for DigitalOcean Functions projects"}),
    );
    write_package(tx, &builder_pkg)?;
    actions::put(
        tx,
        &action(
            &builder_pkg,
            builder::GET_UPLOAD_URL,
            builtin_exec(Builtin::GetUploadUrl),
            builder::upload_annotations(),
        ),
    )?;
    for name in builder::build_action_names(&sluice_core::RuntimeTable::builtin()) {
        let mut build = action(
            &builder_pkg,
            &name,
            builtin_exec(Builtin::Build),
            builder::build_annotations(),
        );
        build.limits.timeout = builder::BUILD_TIMEOUT.as_secs() * 1000;
        actions::put(tx, &build)?;
    }
    Ok(())
}

fn builtin_exec(b: Builtin) -> Exec {
    Exec {
        kind: "blackbox".into(),
        code: None,
        image: Some(format!("{BUILTIN_IMAGE}:{}", b.image_path())),
        main: None,
        components: None,
        binary: Some(false),
    }
}

fn write_package(tx: &Transaction<'_>, p: &Package) -> Result<(), LocalError> {
    actions::delete_package_contents(tx, &p.namespace, &p.name)?;
    packages::put(tx, p)
}

fn kvs(annotations: Value) -> Vec<KeyValue> {
    match annotations {
        Value::Object(m) => m.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect(),
        _ => Vec::new(),
    }
}

fn package(namespace: &str, name: &str, annotations: Value) -> Package {
    Package {
        namespace: namespace.to_string(),
        name: name.to_string(),
        version: VERSION.to_string(),
        publish: true,
        binding: None,
        parameters: Vec::new(),
        annotations: kvs(annotations),
        updated: UPDATED,
    }
}

fn action(pkg: &Package, name: &str, exec: Exec, annotations: Value) -> Action {
    Action {
        namespace: format!("{}/{}", pkg.namespace, pkg.name),
        name: name.to_string(),
        version: VERSION.to_string(),
        publish: false,
        exec,
        parameters: Vec::new(),
        annotations: kvs(annotations),
        limits: ActionLimits::default(),
        updated: UPDATED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_owns_the_reserved_namespaces() {
        assert!(CATALOG_NAMESPACES.contains(&SYSTEM_NAMESPACE));
        assert!(CATALOG_NAMESPACES.contains(&NIMBELLA_NAMESPACE));
        assert!(crate::store::namespaces::check_name("nimbella").is_err());
    }

    #[test]
    fn builtins_are_found_by_their_image_in_the_catalog_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("store");
        install(&store).expect("install");
        install(&store).expect("installing twice is harmless");
        let alarm = store
            .with(|c| actions::get(c, SYSTEM_NAMESPACE, "alarms", "alarm", false))
            .expect("read")
            .expect("the alarm feed");
        assert_eq!(builtin(&alarm), Some(Builtin::Feed(alarms::FeedKind::Cron)));
        let mut copy = alarm.clone();
        copy.namespace = "local/mine".into();
        assert_eq!(
            builtin(&copy),
            None,
            "a user's blackbox is never a built-in"
        );
        let echo = store
            .with(|c| actions::get(c, SYSTEM_NAMESPACE, "utils", "echo", true))
            .expect("read")
            .expect("echo");
        assert_eq!(builtin(&echo), None);
        assert!(echo.exec.kind.starts_with("nodejs:"));
        let builder = store
            .with(|c| packages::get(c, NIMBELLA_NAMESPACE, "builder"))
            .expect("read")
            .expect("nimbella/builder");
        assert!(builder.publish);
    }
}
