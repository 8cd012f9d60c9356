//! `sluice secrets init|set|get|list|edit|rotate|check`: an environment's secrets file in
//! SOPS format with age keys (crate `sluice-secrets`), and the loading of that file for a
//! deploy, plan or watch ([`load`]) with a [`Masking`] feedback that shows every secret
//! value as `****`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use sluice_core::ops::environment::SECRETS_ANNOTATION;
use sluice_core::settings::{self, Environment, SETTINGS_FILE};
use sluice_core::{Feedback, Step};
use sluice_secrets::{CheckOutcome, Keys, SecretsError, SecretsFile};

use super::render::CliError;

/// What a secret value is shown as.
pub const MASK: &str = "****";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: SecretsCommand,
}

#[derive(Debug, clap::Args)]
struct Project {
    /// The project directory
    #[arg(long, short = 'p', default_value = ".")]
    project: PathBuf,
}

#[derive(Debug, clap::Subcommand)]
enum SecretsCommand {
    /// Create the environment's secrets file (and an age key if you have none)
    Init {
        /// The environment of sluice.toml
        env: String,
        #[command(flatten)]
        project: Project,
    },
    /// Set a secret; the value is read from stdin unless given (give '-' for stdin)
    Set {
        env: String,
        /// The secret's name (it reaches functions as an environment variable)
        key: String,
        /// The value, or '-' for stdin (the default: values on the command line end up in shell history)
        value: Option<String>,
        #[command(flatten)]
        project: Project,
    },
    /// Print one secret's value
    Get {
        env: String,
        key: String,
        #[command(flatten)]
        project: Project,
    },
    /// List the names of the environment's secrets (never the values)
    List {
        env: String,
        #[command(flatten)]
        project: Project,
    },
    /// Decrypt to a private temporary file, open $EDITOR, and encrypt the result
    Edit {
        env: String,
        #[command(flatten)]
        project: Project,
    },
    /// Encrypt every value with a new data key, for the current recipients
    Rotate {
        env: String,
        #[command(flatten)]
        project: Project,
    },
    /// Fail, naming them, when secrets files hold plaintext values (for pre-commit hooks)
    Check {
        /// Secrets files to check [default: the secrets files of sluice.toml's environments]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        project: Project,
    },
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let env = super::setup::env_snapshot();
    match args.command {
        SecretsCommand::Init { env: name, project } => init(&project.project, &name, &env),
        SecretsCommand::Set {
            env: name,
            key,
            value,
            project,
        } => {
            let value = match value.as_deref() {
                None | Some("-") => read_stdin(&key)?,
                Some(v) => v.to_string(),
            };
            check_name(&key)?;
            let ctx = open(&project.project, &name, &env)?;
            let mut file = ctx.decrypt()?;
            file.set(&key, &value);
            ctx.save(&mut file)?;
            eprintln!("Set '{key}' in {}", ctx.shown());
            Ok(ExitCode::SUCCESS)
        }
        SecretsCommand::Get {
            env: name,
            key,
            project,
        } => {
            let ctx = open(&project.project, &name, &env)?;
            let file = ctx.decrypt()?;
            let value = file.get(&key).ok_or_else(|| {
                secrets_error(
                    &SecretsError::Missing {
                        path: PathBuf::from(ctx.shown()),
                        key: key.clone(),
                    },
                    &name,
                )
            })?;
            println!("{value}");
            Ok(ExitCode::SUCCESS)
        }
        SecretsCommand::List { env: name, project } => {
            let ctx = open(&project.project, &name, &env)?;
            for name in ctx.decrypt()?.names() {
                println!("{name}");
            }
            Ok(ExitCode::SUCCESS)
        }
        SecretsCommand::Edit { env: name, project } => {
            let ctx = open(&project.project, &name, &env)?;
            edit(&ctx, &env)
        }
        SecretsCommand::Rotate { env: name, project } => {
            let ctx = open(&project.project, &name, &env)?;
            let mut file = ctx.decrypt()?;
            file.rotate();
            ctx.save(&mut file)?;
            eprintln!(
                "Encrypted {} with a new data key for {}",
                ctx.shown(),
                file.recipients.join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        SecretsCommand::Check { paths, project } => check(&project.project, paths),
    }
}

fn check_name(key: &str) -> Result<(), CliError> {
    let ok = !key.is_empty()
        && !key.starts_with("sops")
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(CliError::msg(format!("'{key}' is not a usable secret name"))
            .with_help("use letters, digits, '_', '-' and '.' (it becomes an environment variable); names starting with 'sops' are sops's own"))
    }
}

fn read_stdin(key: &str) -> Result<String, CliError> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("Enter the value of '{key}', then Ctrl-D:");
    }
    let mut value = String::new();
    stdin.read_to_string(&mut value).map_err(CliError::other)?;
    // One trailing newline is the end of the line typed or echoed, not part of the value.
    if value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    Ok(value)
}

fn secrets_error(e: &SecretsError, env: &str) -> CliError {
    // Paths as the user knows them: relative to the working directory when inside it.
    let cwd = std::env::current_dir()
        .map(|d| format!("{}/", d.display()))
        .unwrap_or_default();
    let relative = |s: String| {
        if cwd.len() > 1 {
            s.replace(&cwd, "")
        } else {
            s
        }
    };
    let mut out = CliError::msg(relative(e.to_string()));
    let help = match e {
        SecretsError::Missing { key, .. } => Some(format!(
            "set it with 'sluice secrets set {env} {key}' (the value is read from stdin)"
        )),
        other => other.help(),
    };
    if let Some(h) = help {
        out = out.with_help(relative(h));
    }
    out
}

/// An environment's secrets file and where its recipients come from.
struct Context {
    project_dir: PathBuf,
    env: String,
    file: PathBuf,
    /// The recipients sluice.toml or .sops.yaml give; empty: keep the file's own.
    recipients: Vec<String>,
    keys: Keys,
}

impl Context {
    fn shown(&self) -> String {
        self.file
            .strip_prefix(&self.project_dir)
            .unwrap_or(&self.file)
            .display()
            .to_string()
    }

    fn decrypt(&self) -> Result<SecretsFile, CliError> {
        if !self.file.is_file() {
            return Err(CliError::msg(format!(
                "the secrets file {} of environment '{}' does not exist",
                self.shown(),
                self.env
            ))
            .with_help(format!("create it with 'sluice secrets init {}'", self.env)));
        }
        SecretsFile::open(&self.file, &self.keys).map_err(|e| secrets_error(&e, &self.env))
    }

    fn save(&self, file: &mut SecretsFile) -> Result<(), CliError> {
        sluice_secrets::check_writable(&self.file).map_err(|e| secrets_error(&e, &self.env))?;
        let recipients = if self.recipients.is_empty() {
            file.recipients.clone()
        } else {
            self.recipients.clone()
        };
        file.save(&recipients)
            .map_err(|e| secrets_error(&e, &self.env))
    }
}

fn environment(project: &Path, name: &str) -> Result<(PathBuf, Environment), CliError> {
    let dir = std::path::absolute(project).map_err(CliError::other)?;
    let settings = settings::read(&dir).map_err(|e| CliError::from_core(&e, Some(&dir)))?;
    let env = settings::select(&settings, &dir, Some(name), None)
        .map_err(|e| CliError::from_core(&e, Some(&dir)))?
        .ok_or_else(|| {
            CliError::msg(format!(
                "there is no environment '{name}' in {SETTINGS_FILE}"
            ))
        })?;
    Ok((dir, env))
}

/// The recipients for `file`: the environment's in sluice.toml, else `.sops.yaml`'s.
fn recipients(env: &Environment, file: &Path) -> Result<Vec<String>, CliError> {
    if !env.recipients.is_empty() {
        for r in &env.recipients {
            sluice_secrets::keys::parse_recipient(r).map_err(|e| {
                CliError::msg(format!(
                    "[environments.{}] in {SETTINGS_FILE}: {e}",
                    env.name
                ))
            })?;
        }
        return Ok(env.recipients.clone());
    }
    Ok(sluice_secrets::rules::recipients_for(file)
        .map_err(|e| secrets_error(&e, &env.name))?
        .map(|(_, r)| r)
        .unwrap_or_default())
}

fn open(
    project: &Path,
    name: &str,
    process_env: &BTreeMap<String, String>,
) -> Result<Context, CliError> {
    let (project_dir, env) = environment(project, name)?;
    let Some(file) = env.secrets_file.clone() else {
        return Err(CliError::msg(format!(
            "environment '{name}' has no secrets file in {SETTINGS_FILE}"
        ))
        .with_help(format!("create one with 'sluice secrets init {name}'")));
    };
    let recipients = recipients(&env, &file)?;
    let keys = Keys::find(process_env).map_err(|e| secrets_error(&e, name))?;
    Ok(Context {
        project_dir,
        env: name.to_string(),
        file,
        recipients,
        keys,
    })
}

fn init(
    project: &Path,
    name: &str,
    process_env: &BTreeMap<String, String>,
) -> Result<ExitCode, CliError> {
    let dir = std::path::absolute(project).map_err(CliError::other)?;
    let settings = settings::read(&dir).map_err(|e| CliError::from_core(&e, Some(&dir)))?;
    let defined = settings.environments.get(name).cloned();
    let mut additions: Vec<String> = Vec::new();
    let relative = match defined.as_ref().and_then(|e| e.secrets.clone()) {
        Some(f) => f,
        None => {
            let f = format!("secrets/{name}.yaml");
            additions.push(format!("secrets = \"{f}\""));
            f
        }
    };
    let file = dir.join(&relative);
    if file.exists() {
        return Err(CliError::msg(format!(
            "the secrets file {relative} of environment '{name}' exists already"
        ))
        .with_help(format!(
            "add secrets with 'sluice secrets set {name} KEY', or start again with 'sluice secrets rotate {name}'"
        )));
    }
    // A key for the user when they have none.
    let mut keys = Keys::find(process_env).map_err(|e| secrets_error(&e, name))?;
    if keys.is_empty() {
        let Some(key_file) = sluice_secrets::keys::user_keys_file(process_env) else {
            return Err(
                CliError::msg("no age key, and no home directory to create one in")
                    .with_help("set SOPS_AGE_KEY_FILE to a key made with 'age-keygen'"),
            );
        };
        let recipient =
            sluice_secrets::keys::generate(&key_file).map_err(|e| secrets_error(&e, name))?;
        eprintln!(
            "Created an age key in {} (mode 0600; public key {recipient}). Back it up: without it the secrets cannot be decrypted.",
            key_file.display()
        );
        keys = Keys::find(process_env).map_err(|e| secrets_error(&e, name))?;
    }
    let configured = match &defined {
        Some(e) if !e.recipients.is_empty() => e.recipients.clone(),
        _ => sluice_secrets::rules::recipients_for(&file)
            .map_err(|e| secrets_error(&e, name))?
            .map(|(_, r)| r)
            .unwrap_or_default(),
    };
    let recipients = if configured.is_empty() {
        let mine = keys.recipients();
        additions.push(format!(
            "recipients = [{}]",
            mine.iter()
                .map(|r| format!("\"{r}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        mine
    } else {
        configured
    };
    let mut secrets = SecretsFile::create(&file);
    secrets
        .save(&recipients)
        .map_err(|e| secrets_error(&e, name))?;
    if !additions.is_empty() {
        record(&dir, name, defined.is_some(), &additions)?;
        eprintln!(
            "Recorded in {SETTINGS_FILE} [environments.{name}]: {}",
            additions.join("; ")
        );
    }
    eprintln!(
        "Created {relative} for environment '{name}', encrypted for {}",
        recipients.join(", ")
    );
    eprintln!("Add secrets with 'sluice secrets set {name} KEY' (the value is read from stdin)");
    Ok(ExitCode::SUCCESS)
}

/// Adds `lines` to `[environments.<name>]` of sluice.toml (the table is made if missing).
fn record(dir: &Path, name: &str, defined: bool, lines: &[String]) -> Result<(), CliError> {
    let path = dir.join(SETTINGS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(CliError::msg(format!("{}: {e}", path.display()))),
    };
    let header = format!("[environments.{name}]");
    let mut out = String::new();
    let mut placed = false;
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        if !placed && defined && line.trim() == header {
            for l in lines {
                out.push_str(l);
                out.push('\n');
            }
            placed = true;
        }
    }
    if !placed {
        if defined {
            return Err(CliError::msg(format!(
                "{SETTINGS_FILE}: could not find the line '{header}' to add {}",
                lines.join("; ")
            ))
            .with_help(format!("add them to [environments.{name}] by hand")));
        }
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(&header);
        out.push('\n');
        for l in lines {
            out.push_str(l);
            out.push('\n');
        }
    }
    settings::parse(&out).map_err(|e| CliError::from_core(&e, Some(dir)))?;
    std::fs::write(&path, out).map_err(|e| CliError::msg(format!("{}: {e}", path.display())))
}

fn edit(ctx: &Context, process_env: &BTreeMap<String, String>) -> Result<ExitCode, CliError> {
    let mut file = ctx.decrypt()?;
    let editor = process_env
        .get("VISUAL")
        .or_else(|| process_env.get("EDITOR"))
        .filter(|e| !e.trim().is_empty())
        .cloned()
        .ok_or_else(|| {
            CliError::msg("neither VISUAL nor EDITOR is set")
                .with_help("set EDITOR to your editor, e.g. EDITOR=vi")
        })?;
    let suffix = match file.format {
        sluice_secrets::Format::Yaml => ".yaml",
        sluice_secrets::Format::Json => ".json",
        sluice_secrets::Format::Dotenv => ".env",
    };
    // A 0600 file that is removed when `tmp` is dropped, whatever happens below.
    let tmp = tempfile::Builder::new()
        .prefix("sluice-secrets-")
        .suffix(suffix)
        .tempfile()
        .map_err(CliError::other)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600))
            .map_err(CliError::other)?;
    }
    let before = file.plaintext().map_err(|e| secrets_error(&e, &ctx.env))?;
    std::fs::write(tmp.path(), &before).map_err(CliError::other)?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(tmp.path())
        .status()
        .map_err(|e| CliError::msg(format!("could not start the editor '{editor}': {e}")))?;
    if !status.success() {
        return Err(CliError::msg(format!(
            "the editor '{editor}' failed ({status}); {} is unchanged",
            ctx.shown()
        )));
    }
    let after = std::fs::read_to_string(tmp.path()).map_err(CliError::other)?;
    if after == before {
        eprintln!("No changes; {} is unchanged", ctx.shown());
        return Ok(ExitCode::SUCCESS);
    }
    file.replace_plaintext(&after)
        .map_err(|e| secrets_error(&e, &ctx.env))?;
    for name in file.names() {
        check_name(&name)?;
    }
    ctx.save(&mut file)?;
    eprintln!("Encrypted the changes into {}", ctx.shown());
    Ok(ExitCode::SUCCESS)
}

fn check(project: &Path, paths: Vec<PathBuf>) -> Result<ExitCode, CliError> {
    let paths = if paths.is_empty() {
        let dir = std::path::absolute(project).map_err(CliError::other)?;
        let settings = settings::read(&dir).map_err(|e| CliError::from_core(&e, Some(&dir)))?;
        settings
            .environments
            .values()
            .filter_map(|e| e.secrets.as_ref().map(|f| dir.join(f)))
            .filter(|p| p.is_file())
            .collect()
    } else {
        paths
    };
    let mut failed = 0;
    for path in &paths {
        match sluice_secrets::check(path) {
            Ok(CheckOutcome::Encrypted) => {}
            Ok(CheckOutcome::NotEncrypted(keys)) => {
                failed += 1;
                eprintln!(
                    "{}: not encrypted (no sops metadata); plaintext values: {}",
                    path.display(),
                    keys.join(", ")
                );
            }
            Ok(CheckOutcome::Plaintext(keys)) => {
                failed += 1;
                eprintln!("{}: plaintext values: {}", path.display(), keys.join(", "));
            }
            Err(e) => {
                failed += 1;
                eprintln!("{e}");
            }
        }
    }
    if failed > 0 {
        return Err(CliError::msg(format!(
            "{failed} of {} secrets files hold plaintext",
            paths.len()
        ))
        .with_help("encrypt them with 'sops encrypt -i FILE', or move the values into 'sluice secrets set'"));
    }
    eprintln!("{} secrets files checked: all encrypted", paths.len());
    Ok(ExitCode::SUCCESS)
}

/// Decrypts the environment's secrets file for a deploy: a plaintext file, a missing key or
/// a tampered file is an error naming the file and what to do.
pub fn load(
    project_dir: &Path,
    env: &Environment,
    process_env: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, CliError> {
    let Some(file) = &env.secrets_file else {
        return Ok(BTreeMap::new());
    };
    let shown = file.strip_prefix(project_dir).unwrap_or(file);
    if !file.is_file() {
        return Err(CliError::msg(format!(
            "environment '{}' names the secrets file {}, which does not exist",
            env.name,
            shown.display()
        ))
        .with_help(format!("create it with 'sluice secrets init {}'", env.name)));
    }
    let keys = Keys::find(process_env).map_err(|e| secrets_error(&e, &env.name))?;
    let opened = SecretsFile::open(file, &keys).map_err(|e| {
        let mut out = secrets_error(&e, &env.name);
        if matches!(e, SecretsError::NoKey { .. }) {
            out = out.with_help(format!(
                "supply the private age key of a recipient: set SOPS_AGE_KEY (in CI, from a secret) or SOPS_AGE_KEY_FILE, or put it in {} ({})",
                sluice_secrets::keys::user_keys_file(process_env)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "~/.config/sops/age/keys.txt".to_string()),
                keys.searched
            ));
        }
        out
    })?;
    Ok(opened.values().into_iter().collect())
}

/// Replaces every secret value in `text` with [`MASK`] (longest first, so a value holding
/// another is masked whole). Empty values are left alone: they cannot be found.
pub fn mask(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for value in secrets {
        if !value.is_empty() && out.contains(value.as_str()) {
            out = out.replace(value.as_str(), MASK);
        }
        // Values are also shown JSON-escaped (newlines as \n) in transcripts and errors.
        let escaped = serde_json::to_string(value).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        if !escaped.is_empty() && escaped != value && out.contains(escaped) {
            out = out.replace(escaped, MASK);
        }
    }
    out
}

/// The values of `secrets`, longest first, for [`mask`].
pub fn values(secrets: &BTreeMap<String, String>) -> Vec<String> {
    let mut v: Vec<String> = secrets
        .values()
        .filter(|v| !v.is_empty())
        .cloned()
        .collect();
    v.sort_by_key(|s| std::cmp::Reverse(s.len()));
    v
}

/// An op's error with secret values masked (a controller or hook may echo one), and, for a
/// `${secret:NAME}` that the secrets file lacks, the file and the command that sets it.
pub fn mask_error(
    rendered: CliError,
    error: &sluice_core::Error,
    secrets: &BTreeMap<String, String>,
    environment: Option<&Environment>,
) -> CliError {
    let missing: Vec<&str> = match error {
        sluice_core::Error::Unresolved { names } => names
            .iter()
            .filter_map(|n| n.strip_prefix("secret:"))
            .map(str::trim)
            .collect(),
        _ => Vec::new(),
    };
    if let Some(name) = missing.first() {
        let help = match environment {
            Some(env) if env.secrets_file.is_some() => format!(
                "{} lacks {}: set it with 'sluice secrets set {} {name}'",
                env.secrets_file
                    .as_ref()
                    .and_then(|f| f.file_name())
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                missing.join(", "),
                env.name
            ),
            Some(env) => format!(
                "environment '{}' has no secrets file: create one with 'sluice secrets init {}'",
                env.name, env.name
            ),
            None => "${secret:NAME} needs an environment with a secrets file: deploy with -e ENV"
                .to_string(),
        };
        return CliError::msg(rendered.to_string()).with_help(help);
    }
    let values = values(secrets);
    let text = rendered.to_string();
    let help = rendered.help().map(str::to_string);
    let leaks = |t: &str| values.iter().any(|v| t.contains(v.as_str()));
    if !leaks(&text) && !help.as_deref().is_some_and(leaks) {
        return rendered;
    }
    let masked = CliError::msg(mask(&text, &values));
    match help {
        Some(h) => masked.with_help(mask(&h, &values)),
        None => masked,
    }
}

/// Masks, in a deployed function (`{parameters: [{key, value, init?}], annotations}`), the
/// values of the parameters its [`SECRETS_ANNOTATION`] names.
pub fn mask_parameters(function: &mut serde_json::Value) {
    let names: Vec<String> = function["annotations"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["key"] == SECRETS_ANNOTATION)
        .and_then(|a| a["value"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect();
    if let Some(params) = function["parameters"].as_array_mut() {
        for p in params {
            if p["key"]
                .as_str()
                .is_some_and(|k| names.iter().any(|n| n == k))
            {
                p["value"] = serde_json::Value::from(MASK);
            }
        }
    }
}

/// A feedback that masks secret values before passing lines on.
pub struct Masking {
    pub inner: Arc<dyn Feedback>,
    pub values: Vec<String>,
}

impl Feedback for Masking {
    fn progress(&self, message: &str) {
        self.inner.progress(&mask(message, &self.values));
    }
    fn warn(&self, message: &str) {
        self.inner.warn(&mask(message, &self.values));
    }
    fn step(&self, step: &Step) {
        self.inner.step(step);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_plain_and_escaped_values_longest_first() {
        let values = values(&BTreeMap::from([
            ("A".to_string(), "abc".to_string()),
            ("B".to_string(), "abcdef".to_string()),
            ("C".to_string(), "l1\nl2".to_string()),
        ]));
        assert_eq!(mask("x abcdef y abc", &values), "x **** y ****");
        assert_eq!(mask(r#""v":"l1\nl2""#, &values), r#""v":"****""#);
    }
}
