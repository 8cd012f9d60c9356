//! Finding the action a request names (openwhisk-api.md §4.1): through its namespace, its
//! package or a binding, with the parameters it inherits, and the checks a request body must
//! pass before it runs.
//!
//! The bottom of [`crate::run`]: invoke, web actions, sequences and trigger firing all start
//! here, and it imports none of them.

use serde_json::Value;

use crate::error::LocalError;
use crate::http_error::ApiError;
use crate::runner::params::{self, Param};
use crate::state::AppState;
use crate::store::{Action, KeyValue, kv_get};

/// Largest invoke payload, curried parameters included (1 MB).
pub const MAX_PAYLOAD: usize = 1024 * 1024;
/// The controller's 400 for overriding a final parameter or a reserved name.
pub const RESERVED_PARAMS: &str =
    "Request defines parameters that are not allowed (e.g., reserved properties).";

/// An action found through its namespace, package or binding.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The stored action (with code).
    pub action: Action,
    /// Parameters of its package (binding parameters over the bound package's).
    pub package_params: Vec<KeyValue>,
    /// `ns[/pkg]/name` of the executed action (the bound-to package for bindings).
    pub path: String,
    /// `ns/binding` when invoked through a binding.
    pub binding: Option<String>,
}

impl Resolved {
    /// The parameters the action sees before the request's (package < action).
    pub fn merged_params(&self) -> Vec<Param> {
        let pkg = serde_json::to_value(&self.package_params).unwrap_or(Value::Null);
        let act = serde_json::to_value(&self.action.parameters).unwrap_or(Value::Null);
        params::merge(&[&pkg, &act])
    }

    /// True when the action is annotated with `name: true`.
    pub fn annotated(&self, name: &str) -> bool {
        kv_get(&self.action.annotations, name).and_then(Value::as_bool) == Some(true)
    }
}

/// Finds `name` in `package` (or top level) of `namespace`, following bindings.
pub async fn resolve(
    state: &AppState,
    namespace: &str,
    package: Option<&str>,
    name: &str,
) -> Result<Option<Resolved>, LocalError> {
    let Some(pkg) = package else {
        let Some(action) = state.store.get_action(namespace, None, name).await? else {
            return Ok(None);
        };
        return Ok(Some(Resolved {
            path: format!("{namespace}/{name}"),
            action,
            package_params: Vec::new(),
            binding: None,
        }));
    };
    let Some(resolved) = state.store.resolve_package(namespace, pkg).await? else {
        return Ok(None);
    };
    let target = &resolved.target;
    let Some(action) = state
        .store
        .get_action(&target.namespace, Some(&target.name), name)
        .await?
    else {
        return Ok(None);
    };
    let binding = resolved
        .requested
        .binding
        .as_ref()
        .map(|_| format!("{namespace}/{pkg}"));
    Ok(Some(Resolved {
        path: format!("{}/{}/{name}", target.namespace, target.name),
        action,
        package_params: resolved.parameters,
        binding,
    }))
}

/// Resolves a fully qualified name (`/ns/name`, `/ns/pkg/name`; `ns/pkg/name` too).
pub async fn resolve_fqn(state: &AppState, fqn: &str) -> Result<Option<Resolved>, LocalError> {
    let parts: Vec<&str> = fqn.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [ns, name] => resolve(state, ns, None, name).await,
        [ns, pkg, name] => resolve(state, ns, Some(pkg), name).await,
        _ => Ok(None),
    }
}

/// `pkg/name` or `name` of a request path; `None` for anything else (`pkg/`, deeper paths).
pub fn split_action_path(path: &str) -> Option<(Option<&str>, &str)> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [name] if !name.is_empty() => Some((None, name)),
        [pkg, name] if !pkg.is_empty() && !name.is_empty() => Some((Some(pkg), name)),
        _ => None,
    }
}

/// Checks the request body against `final` parameters and the payload limit.
pub fn check_request(resolved: &Resolved, body: &Value, body_len: usize) -> Result<(), ApiError> {
    let merged = resolved.merged_params();
    if resolved.annotated("final")
        && let Some(fields) = body.as_object()
    {
        let defined = |k: &str| merged.iter().any(|p| p.key == k && !p.value.is_null());
        if fields.keys().any(|k| defined(k)) {
            return Err(ApiError::bad_request(RESERVED_PARAMS));
        }
    }
    let curried: usize = merged
        .iter()
        .map(|p| p.key.len() + p.value.to_string().len())
        .sum();
    let size = body_len + curried;
    if size > MAX_PAYLOAD {
        return Err(ApiError::too_large("Request", size, MAX_PAYLOAD));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_paths_split_into_package_and_name() {
        assert_eq!(split_action_path("hello"), Some((None, "hello")));
        assert_eq!(
            split_action_path("demo/hello"),
            Some((Some("demo"), "hello"))
        );
        assert_eq!(split_action_path("demo/"), None);
        assert_eq!(split_action_path("a/b/c"), None);
    }
}
