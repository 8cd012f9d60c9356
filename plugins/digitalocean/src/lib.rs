//! sluice-digitalocean: DigitalOcean's own API, as far as sluice needs it — the functions
//! namespaces of an account (`/v2/functions/namespaces`: list, create, get, delete).
//!
//! Why it is built this way:
//! - One small client ([`NamespacesApi`]) over `reqwest`, with the account's token sent as a
//!   Bearer header and nowhere else: the token never appears in a URL, an error or a `Debug`
//!   output, and a namespace's key is masked in `Debug` too.
//! - The base URL is a parameter ([`api_url`] reads `SLUICE_DO_API_URL`, the variable the
//!   triggers client of sluice-openwhisk reads), so tests and private deployments point it at
//!   their own server.
//! - DigitalOcean answers errors as `{"id": "...", "message": "..."}`; [`DoError`] keeps the
//!   status, the id and the message, and names the namespace a 404 is about.
//! - Reads and deletes are tried again on 429, 5xx and lost answers (three tries, waits
//!   doubling from 500 ms), as doctl does; a create is sent once, since a lost answer may
//!   still have made the namespace.
//! - Choosing a namespace by a label or an id ([`find`]) is data in, data out, so the CLI's
//!   `connect`, `namespace delete` and `env delete` agree on it.
//!
//! It must not read projects, touch the credential store, print, or exit: the CLI decides
//! what to store and how to show it.

mod error;
mod namespaces;

pub use error::{DoError, Result};
pub use namespaces::{Namespace, NamespacesApi, find};

/// DigitalOcean's API.
pub const DEFAULT_API_URL: &str = "https://api.digitalocean.com";

/// The environment variable that overrides [`DEFAULT_API_URL`] (shared with the triggers
/// client, so both APIs go to the same place).
pub const API_URL_ENV: &str = "SLUICE_DO_API_URL";

/// The API's base URL: `$SLUICE_DO_API_URL` when set and not empty, else [`DEFAULT_API_URL`].
pub fn api_url(env: impl Fn(&str) -> Option<String>) -> String {
    env(API_URL_ENV)
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_API_URL.to_string())
}

/// The datacenter of each region that hosts Functions (one per region), as doctl lists them.
const FUNCTIONS_REGIONS: &[(&str, &str)] = &[
    ("ams", "ams3"),
    ("blr", "blr1"),
    ("fra", "fra1"),
    ("lon", "lon1"),
    ("nyc", "nyc1"),
    ("sfo", "sfo3"),
    ("sgp", "sgp1"),
    ("syd", "syd1"),
    ("tor", "tor1"),
];

/// The region value the API takes: doctl's three-letter region slugs (`nyc`) become the
/// datacenter that hosts Functions (`nyc1`); anything else is passed on as it is, for
/// DigitalOcean to accept or refuse (its list changes; a 422 says why).
pub fn region_slug(value: &str) -> String {
    let value = value.trim().to_ascii_lowercase();
    FUNCTIONS_REGIONS
        .iter()
        .find(|(region, _)| *region == value)
        .map(|(_, dc)| dc.to_string())
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_take_doctls_short_forms() {
        assert_eq!(region_slug("nyc"), "nyc1");
        assert_eq!(region_slug("SFO"), "sfo3");
        assert_eq!(region_slug("ams3"), "ams3");
        assert_eq!(region_slug("mars1"), "mars1");
    }

    #[test]
    fn the_base_url_is_overridable() {
        assert_eq!(api_url(|_| None), DEFAULT_API_URL);
        assert_eq!(api_url(|_| Some("  ".into())), DEFAULT_API_URL);
        assert_eq!(
            api_url(|k| (k == API_URL_ENV).then(|| "http://127.0.0.1:9".to_string())),
            "http://127.0.0.1:9"
        );
    }
}
