//! `sluice.toml` at the project root: sluice's own settings, kept out of project.yml so the
//! same project still deploys with doctl. One module reads the whole file, so every feature
//! sees the same parse and the same errors:
//!
//! - `[project]`: `allow_outside` (see [`crate::confine`]);
//! - `[environments.<name>]`: where each stage of the project lives (namespace, host, env
//!   files, branch patterns, protection), see [`EnvironmentSettings`];
//! - top-level `hooks = [...]` and `plugins = [...]`, as in project.yml (relative to the
//!   project).
//!
//! Unknown keys are refused everywhere: a misspelt key would otherwise be a setting that
//! silently does nothing. The choice of an environment ([`select`]) lives here too, because
//! it needs nothing but the settings and the git branch.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The project settings file's name.
pub const SETTINGS_FILE: &str = "sluice.toml";

/// The whole of `sluice.toml`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub project: ProjectSettings,
    /// `[environments.<name>]`, by name.
    #[serde(default)]
    pub environments: BTreeMap<String, EnvironmentSettings>,
    /// Hooks, as written (relative to the project, or `stock:<name>`), added to project.yml's.
    #[serde(default)]
    pub hooks: Vec<String>,
    /// Plugin libraries, as written (relative to the project), added to project.yml's.
    #[serde(default)]
    pub plugins: Vec<String>,
}

/// `[project]` of `sluice.toml`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSettings {
    /// Directories outside the project that it may read, relative to the project root.
    #[serde(default)]
    pub allow_outside: Vec<String>,
}

/// `[environments.<name>]`: one stage of the project.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnvironmentSettings {
    /// The namespace (label or id) this environment deploys to; `{branch}` is replaced by
    /// the current git branch. None: the current namespace.
    pub namespace: Option<String>,
    /// The API host of the namespace (as `--apihost` takes it).
    pub apihost: Option<String>,
    /// The region a namespace made for this environment is created in.
    pub region: Option<String>,
    /// Property file for `${VAR}` substitution (instead of `<project>/.env`), relative to the
    /// project.
    pub env: Option<String>,
    /// Property file for the environment of build scripts, relative to the project.
    pub build_env: Option<String>,
    /// The environment's secrets file (SOPS format, age keys), relative to the project: its
    /// values reach every function as environment and `${secret:NAME}`.
    pub secrets: Option<String>,
    /// The age recipients (`age1…`) the secrets file is encrypted for; none: `.sops.yaml`'s
    /// creation rules decide.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Git branch patterns (`*` matches any run of characters) that select this environment
    /// when no `-e` is given.
    #[serde(default)]
    pub branches: Vec<String>,
    /// Changes only by promotion: a plain deploy needs `--force`.
    #[serde(default)]
    pub protected: bool,
}

/// Reads `<project_dir>/sluice.toml`; no file gives the defaults (and so does a
/// `project_dir` that is not a directory: the reader says what is wrong with it).
pub fn read(project_dir: &Path) -> Result<Settings> {
    let path = project_dir.join(SETTINGS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Settings::default());
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    parse(&text)
}

/// Parses the text of a `sluice.toml`, with the line of the first error.
pub fn parse(text: &str) -> Result<Settings> {
    let settings: Settings = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        Error::Config {
            file: SETTINGS_FILE.to_string(),
            line,
            column: None,
            message: e.message().to_string(),
        }
    })?;
    for (name, env) in &settings.environments {
        check_name(name)?;
        if env.namespace.as_deref().is_some_and(str::is_empty) {
            return Err(Error::Usage {
                message: format!("[environments.{name}] in {SETTINGS_FILE}: namespace is empty"),
                help: Some("name the namespace (label or id), or leave the key out to use the current namespace".to_string()),
            });
        }
    }
    Ok(settings)
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::Usage {
            message: format!("[environments.{name}] in {SETTINGS_FILE}: '{name}' is not a valid environment name"),
            help: Some("use letters, digits, '-' and '_' only (the name reaches functions as SLUICE_ENVIRONMENT)".to_string()),
        })
    }
}

/// How an environment was chosen, for the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChosenBy {
    /// `-e/--environment` or `SLUICE_ENVIRONMENT`.
    Named,
    /// The git branch matched one of its patterns.
    Branch(String),
}

/// The environment a command runs in, with its settings resolved against the project.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    pub name: String,
    pub chosen_by: ChosenBy,
    /// The namespace, `{branch}` filled in.
    pub namespace: Option<String>,
    pub apihost: Option<String>,
    pub region: Option<String>,
    /// The env file, absolute.
    pub env_file: Option<PathBuf>,
    /// The build-env file, absolute.
    pub build_env_file: Option<PathBuf>,
    /// The secrets file, absolute (see [`EnvironmentSettings::secrets`]).
    pub secrets_file: Option<PathBuf>,
    /// The age recipients of the secrets file (see [`EnvironmentSettings::recipients`]).
    pub recipients: Vec<String>,
    pub protected: bool,
}

impl Environment {
    /// `environment 'dev'` or `environment 'dev' (branch 'main')`, for headers.
    pub fn describe(&self) -> String {
        match &self.chosen_by {
            ChosenBy::Named => format!("environment '{}'", self.name),
            ChosenBy::Branch(b) => format!("environment '{}' (git branch '{b}')", self.name),
        }
    }
}

/// Picks the environment: `named` (from `-e` or `SLUICE_ENVIRONMENT`) when given, which must
/// be defined; else the one whose branch patterns match `branch`; else none. Two
/// environments matching the same branch is an error (the choice would depend on names).
pub fn select(
    settings: &Settings,
    project_dir: &Path,
    named: Option<&str>,
    branch: Option<&str>,
) -> Result<Option<Environment>> {
    let (name, chosen_by) = match named.filter(|n| !n.is_empty()) {
        Some(name) => {
            if !settings.environments.contains_key(name) {
                return Err(unknown_environment(settings, name));
            }
            (name.to_string(), ChosenBy::Named)
        }
        None => {
            let Some(branch) = branch else {
                return Ok(None);
            };
            let matching: Vec<&String> = settings
                .environments
                .iter()
                .filter(|(_, e)| e.branches.iter().any(|p| glob_match(p, branch)))
                .map(|(n, _)| n)
                .collect();
            match matching.as_slice() {
                [] => return Ok(None),
                [one] => ((*one).clone(), ChosenBy::Branch(branch.to_string())),
                several => {
                    return Err(Error::Usage {
                        message: format!(
                            "git branch '{branch}' matches the branch patterns of several environments in {SETTINGS_FILE}: {}",
                            several
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        help: Some(
                            "choose one with -e NAME, or make the patterns exclusive".to_string(),
                        ),
                    });
                }
            }
        }
    };
    let Some(env) = settings.environments.get(&name) else {
        return Err(unknown_environment(settings, &name));
    };
    let namespace = match &env.namespace {
        Some(ns) if ns.contains("{branch}") => {
            let Some(branch) = branch else {
                return Err(Error::Usage {
                    message: format!(
                        "[environments.{name}] in {SETTINGS_FILE}: the namespace '{ns}' needs the git branch, and the project is not on one"
                    ),
                    help: Some("run from a git work tree with a branch checked out, or give the namespace without {branch}".to_string()),
                });
            };
            Some(ns.replace("{branch}", &branch_label(branch)))
        }
        other => other.clone(),
    };
    let file = |f: &Option<String>| f.as_ref().map(|f| project_dir.join(f));
    Ok(Some(Environment {
        name,
        chosen_by,
        namespace,
        apihost: env.apihost.clone(),
        region: env.region.clone(),
        env_file: file(&env.env),
        build_env_file: file(&env.build_env),
        secrets_file: file(&env.secrets),
        recipients: env.recipients.clone(),
        protected: env.protected,
    }))
}

fn unknown_environment(settings: &Settings, name: &str) -> Error {
    let known: Vec<&str> = settings.environments.keys().map(String::as_str).collect();
    Error::Usage {
        message: format!("there is no environment '{name}' in {SETTINGS_FILE}"),
        help: Some(if known.is_empty() {
            format!(
                "define it with an [environments.{name}] table in {SETTINGS_FILE} at the project root"
            )
        } else {
            format!(
                "the environments are: {}; or add [environments.{name}] to {SETTINGS_FILE}",
                known.join(", ")
            )
        }),
    }
}

/// A branch name as it can appear in a namespace label: characters other than letters,
/// digits, `-` and `_` (the `/` of `feature/x`) become `-`.
pub fn branch_label(branch: &str) -> String {
    branch
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `*` matches any run of characters (including `/`); everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    if parts.len() == 1 {
        return pattern == text;
    }
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The git branch checked out in `dir`, or `None` outside a work tree or on a detached head.
pub fn current_branch(dir: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["symbolic-ref", "--quiet", "--short", "HEAD"])
        .current_dir(dir)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let branch = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!branch.is_empty()).then_some(branch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
hooks = ["stock:stamp-environment"]

[project]
allow_outside = ["../shared"]

[environments.dev]
namespace = "acme_{branch}"
branches = ["feature/*", "fix-*"]
env = "env/dev.env"

[environments.prod]
namespace = "acme-prod"
protected = true
secrets = "secrets/prod.yaml"
build-env = "env/prod.build"
"#;

    #[test]
    fn parses_every_table() {
        let s = parse(FILE).expect("parses");
        assert_eq!(s.project.allow_outside, ["../shared"]);
        assert_eq!(s.hooks, ["stock:stamp-environment"]);
        assert!(s.environments["prod"].protected);
        assert_eq!(
            s.environments["prod"].build_env.as_deref(),
            Some("env/prod.build")
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let e = parse("[environments.dev]\nnamespce = \"x\"\n").expect_err("misspelt");
        assert_eq!(e.line(), Some(2));
        let e = parse("[environments.\"a b\"]\n").expect_err("bad name");
        assert!(
            e.to_string().contains("not a valid environment name"),
            "{e}"
        );
    }

    #[test]
    fn select_by_name_and_by_branch() {
        let s = parse(FILE).expect("parses");
        let dir = Path::new("/p");
        let dev = select(&s, dir, None, Some("feature/login"))
            .expect("selects")
            .expect("dev");
        assert_eq!(dev.name, "dev");
        assert_eq!(dev.namespace.as_deref(), Some("acme_feature-login"));
        assert_eq!(dev.env_file, Some(PathBuf::from("/p/env/dev.env")));
        assert_eq!(
            dev.describe(),
            "environment 'dev' (git branch 'feature/login')"
        );
        assert_eq!(select(&s, dir, None, Some("main")).expect("none"), None);
        let prod = select(&s, dir, Some("prod"), Some("feature/x"))
            .expect("selects")
            .expect("prod");
        assert_eq!(prod.namespace.as_deref(), Some("acme-prod"));
        let e = select(&s, dir, Some("qa"), None).expect_err("unknown");
        assert!(e.help().unwrap_or_default().contains("dev, prod"), "{e}");
        let e = select(&s, dir, Some("dev"), None).expect_err("no branch");
        assert!(e.to_string().contains("needs the git branch"), "{e}");
    }

    #[test]
    fn globs() {
        assert!(glob_match("feature/*", "feature/a/b"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("main", "main"));
        assert!(!glob_match("main", "mainline"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(!glob_match("ab*ba", "aba"));
    }
}
