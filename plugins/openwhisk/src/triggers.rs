//! Scheduled triggers through the DigitalOcean Functions triggers API (spec §10.7).
//!
//! The API base URL defaults to `https://api.digitalocean.com` and is read from
//! `SLUICE_DO_API_URL` when set, so tests (and private deployments) can point it elsewhere.
//! Without it the URL is derived from the API host ([`do_api_url_for`]).
//! There is no upsert in that API: a trigger is deleted (errors ignored) and created again.

use reqwest::{Method, Url};
use serde_json::{Value, json};
use sluice_core::TriggerSpec;

use crate::error::{OwError, Result};
use crate::transport::{Auth, Call, Transport};

/// DigitalOcean's API.
pub const DEFAULT_DO_API_URL: &str = "https://api.digitalocean.com";
/// Environment variable overriding [`DEFAULT_DO_API_URL`].
pub const DO_API_URL_ENV: &str = "SLUICE_DO_API_URL";

/// Where the triggers API of the namespace at `apihost` lives, when `SLUICE_DO_API_URL` does
/// not say: the API host itself when it is a loopback server (sluice's local namespace and
/// `sluice serve` serve the triggers API beside the OpenWhisk one), else DigitalOcean's API.
/// The DigitalOcean token is a bearer token for the whole account, so it goes only to
/// DigitalOcean or to this machine, never to another host.
pub fn do_api_url_for(apihost: &str) -> String {
    let loopback = Url::parse(apihost).ok().is_some_and(|u| {
        let host = u.host_str().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    if loopback {
        apihost.trim_end_matches('/').to_string()
    } else {
        DEFAULT_DO_API_URL.to_string()
    }
}

/// A client of the triggers API of one account.
#[derive(Clone)]
pub struct TriggersApi {
    base: Url,
    auth: Auth,
    transport: Transport,
}

impl std::fmt::Debug for TriggersApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TriggersApi")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// The request body that creates a trigger for `function` (`pkg/name`, no namespace).
pub fn trigger_body(trigger: &TriggerSpec, function: &str) -> Value {
    let mut details = json!({"cron": trigger.scheduled_details.cron});
    if let Some(body) = &trigger.scheduled_details.body {
        details["body"] = Value::Object(body.clone());
    }
    json!({
        "name": trigger.name,
        "function": function,
        "is_enabled": trigger.enabled != Some(false),
        "type": "SCHEDULED",
        "scheduled_details": details,
    })
}

impl TriggersApi {
    /// A client for the API at `base` with a DigitalOcean token.
    pub fn new(base: &str, token: &str, transport: Transport) -> Result<Self> {
        let base = Url::parse(&format!("{}/", base.trim_end_matches('/'))).map_err(|e| {
            OwError::BadHost {
                apihost: base.to_string(),
                message: e.to_string(),
            }
        })?;
        Ok(TriggersApi {
            base,
            auth: Auth::Bearer(token.to_string()),
            transport,
        })
    }

    fn url(&self, namespace: &str, name: Option<&str>) -> Url {
        let mut url = self.base.clone();
        crate::client::extend_path(
            &mut url,
            ["v2", "functions", "namespaces", namespace, "triggers"]
                .into_iter()
                .chain(name),
        );
        url
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<Value> {
        self.transport
            .send(Call {
                method,
                url,
                auth: &self.auth,
                body,
                idempotent,
            })
            .await
    }

    /// Deletes a trigger.
    pub async fn delete(&self, namespace: &str, name: &str) -> Result<()> {
        self.send(Method::DELETE, self.url(namespace, Some(name)), None, true)
            .await
            .map(|_| ())
    }

    /// Creates (after deleting any old one) a trigger of `function`.
    pub async fn upsert(
        &self,
        namespace: &str,
        trigger: &TriggerSpec,
        function: &str,
    ) -> Result<()> {
        // The API has no upsert; a missing trigger makes the delete fail, which is fine.
        let _ = self.delete(namespace, &trigger.name).await;
        let body = trigger_body(trigger, function);
        self.send(Method::POST, self.url(namespace, None), Some(&body), false)
            .await
            .map(|_| ())
    }

    /// Every trigger of the namespace (`{"triggers": [...]}`).
    pub async fn list(&self, namespace: &str) -> Result<Vec<Value>> {
        let value = self
            .send(Method::GET, self.url(namespace, None), None, true)
            .await?;
        Ok(value
            .get("triggers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_triggers_api_follows_the_api_host() {
        assert_eq!(
            do_api_url_for("https://faas-nyc1-2ef2e6cc.doserverless.co"),
            DEFAULT_DO_API_URL
        );
        assert_eq!(
            do_api_url_for("http://127.0.0.1:3233/"),
            "http://127.0.0.1:3233"
        );
        // The account's token never goes to another host.
        assert_eq!(
            do_api_url_for("https://openwhisk.example.com"),
            DEFAULT_DO_API_URL
        );
    }
    use sluice_core::ScheduledDetails;

    #[test]
    fn body_defaults_to_enabled_and_omits_a_missing_body() {
        let t = TriggerSpec {
            name: "invoke2".into(),
            enabled: Some(false),
            trigger_type: "scheduler".into(),
            scheduled_details: ScheduledDetails {
                cron: "30 * * * *".into(),
                body: None,
            },
        };
        assert_eq!(
            trigger_body(&t, "test-triggers/hello2"),
            json!({"name": "invoke2", "function": "test-triggers/hello2", "is_enabled": false,
                   "type": "SCHEDULED", "scheduled_details": {"cron": "30 * * * *"}})
        );
    }
}
