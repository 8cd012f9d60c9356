//! Confinement of worker processes: what a local function may touch besides its own code.
//!
//! Why it is built this way:
//! - **Landlock** (Linux ≥ 5.13) restricts file access per thread and everything it starts, and
//!   needs no privilege. The worker is spawned from a short-lived thread that restricted itself
//!   first, so the daemon itself stays unrestricted and no `unsafe` `pre_exec` hook is needed.
//! - Landlock only *grants*: to keep the whole file system readable except sluice's data
//!   directory and the user's credentials ([`credential_places`]: sluice's home with its
//!   credential store, the original deployer's and doctl's, SOPS's age keys), every sibling
//!   of each ancestor of those is granted read access (skipping symbolic links that lead back
//!   into them), plus the worker's own code and the launchers inside it. Writes are granted only beneath the worker's private temporary
//!   directory and `/dev` (for `/dev/null`, `/dev/shm`).
//! - The memory limit is `RLIMIT_DATA` set on the new process (`prlimit`) before it connects
//!   back, so it applies before user code loads. `RLIMIT_AS` is not used: V8 reserves far more
//!   address space than it uses and node would not start.
//! - When the kernel has no Landlock the runner still runs functions, unconfined, and says so
//!   once ([`confinement`]).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tokio::process::{Child, Command};

/// Whether local runs are confined on this machine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", content = "detail", rename_all = "kebab-case")]
pub enum Confinement {
    /// Landlock enforces every rule.
    Enforced,
    /// Landlock enforces only part of the rules (an older kernel ABI): the detail says what.
    Partial(String),
    /// No confinement: the detail says why.
    Unavailable(String),
}

impl Confinement {
    /// One line for logs and `sluice local status`.
    pub fn describe(&self) -> String {
        match self {
            Self::Enforced => {
                "Landlock: functions cannot read sluice's data directory or the user's \
                 credential stores and write only to their temporary directory"
                    .to_string()
            }
            Self::Partial(why) => format!("Landlock, partly enforced: {why}"),
            Self::Unavailable(why) => format!(
                "none: {why}; local functions run with the calling user's full file access \
                 (including the namespace keys and database)"
            ),
        }
    }

    /// Whether the deny rules are applied at all.
    pub fn applies(&self) -> bool {
        !matches!(self, Self::Unavailable(_))
    }
}

/// The confinement of this machine, probed once.
pub fn confinement() -> &'static Confinement {
    static PROBED: OnceLock<Confinement> = OnceLock::new();
    PROBED.get_or_init(probe)
}

/// What one worker may access.
#[derive(Debug, Clone)]
pub struct Policy {
    /// What nothing may read: sluice's data directory and [`credential_places`].
    pub protected: Vec<PathBuf>,
    /// Directories inside `protected` the worker still reads (its code, the launchers).
    pub readable: Vec<PathBuf>,
    /// Directories the worker may write (its temporary directory).
    pub writable: Vec<PathBuf>,
}

/// Spawns `cmd`, confined by `policy` when given and the kernel allows it, with its data
/// segment limited to `memory_mb` megabytes.
pub fn spawn(cmd: &mut Command, policy: Option<&Policy>, memory_mb: u64) -> io::Result<Child> {
    let child = match policy.filter(|_| confinement().applies()) {
        None => cmd.spawn()?,
        Some(policy) => spawn_restricted(cmd, policy)?,
    };
    limit_memory(&child, memory_mb)?;
    Ok(child)
}

#[cfg(target_os = "linux")]
fn limit_memory(child: &Child, memory_mb: u64) -> io::Result<()> {
    use rustix::process::{Pid, Resource, Rlimit, prlimit};
    if memory_mb == 0 {
        return Ok(());
    }
    let Some(pid) = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(Pid::from_raw)
    else {
        return Ok(());
    };
    let bytes = memory_mb.saturating_mul(1024 * 1024);
    let limit = Rlimit {
        current: Some(bytes),
        maximum: Some(bytes),
    };
    prlimit(Some(pid), Resource::Data, limit)
        .map(|_| ())
        .map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn limit_memory(_child: &Child, _memory_mb: u64) -> io::Result<()> {
    Ok(())
}

#[cfg(target_os = "linux")]
fn spawn_restricted(cmd: &mut Command, policy: &Policy) -> io::Result<Child> {
    let handle = tokio::runtime::Handle::current();
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // The child's process handle belongs to the caller's runtime.
                let _runtime = handle.enter();
                landlock_rules::restrict_this_thread(policy)?;
                cmd.spawn()
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the confined spawn thread panicked")))
    })
}

#[cfg(not(target_os = "linux"))]
fn spawn_restricted(cmd: &mut Command, _policy: &Policy) -> io::Result<Child> {
    cmd.spawn()
}

#[cfg(target_os = "linux")]
fn probe() -> Confinement {
    std::thread::spawn(landlock_rules::probe_this_thread)
        .join()
        .unwrap_or_else(|_| Confinement::Unavailable("probing Landlock failed".to_string()))
}

#[cfg(not(target_os = "linux"))]
fn probe() -> Confinement {
    Confinement::Unavailable("Landlock exists on Linux only".to_string())
}

/// Where the user keeps credentials a local function must not read, as this process's
/// environment names them: sluice's home (`$SLUICE_HOME`, else `~/.sluice`: the credential
/// store, plugin trust records), the original deployer's store (`$NIMBELLA_DIR`, else
/// `~/.nimbella`), doctl's configuration with its access token and namespace keys, and
/// SOPS's age keys (`$SOPS_AGE_KEY_FILE`, the `sops` configuration directory). Only those
/// that exist are returned, canonical.
pub fn credential_places() -> Vec<PathBuf> {
    let var = |key: &str| {
        std::env::var_os(key)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let home = var("HOME");
    let under_home = |rel: &str| home.as_ref().map(|h| h.join(rel));
    let config = var("XDG_CONFIG_HOME").or_else(|| under_home(".config"));
    let candidates = [
        var("SLUICE_HOME").or_else(|| under_home(".sluice")),
        var("NIMBELLA_DIR"),
        under_home(".nimbella"),
        config.as_ref().map(|c| c.join("doctl")),
        config.as_ref().map(|c| c.join("sops")),
        var("SOPS_AGE_KEY_FILE"),
    ];
    let mut places: Vec<PathBuf> = candidates
        .into_iter()
        .flatten()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    places.sort();
    places.dedup();
    places
}

/// Every path to grant read access to so that all of the file system but the `protected`
/// paths (canonical) is readable: the siblings of each of them and of each of their
/// ancestors. Symbolic links whose target leads into a protected path (or contains one) are
/// left out.
pub fn readable_outside(protected: &[PathBuf]) -> Vec<PathBuf> {
    let inside = |p: &Path| protected.iter().any(|d| p.starts_with(d));
    let leads_to_one = |p: &Path| protected.iter().any(|d| d.starts_with(p));
    let parents: std::collections::BTreeSet<&Path> = protected
        .iter()
        .flat_map(|p| p.ancestors().skip(1))
        .filter(|p| !inside(p))
        .collect();
    let mut out = Vec::new();
    for parent in parents {
        let Ok(entries) = std::fs::read_dir(parent) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if inside(&path) || leads_to_one(&path) {
                continue;
            }
            let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
            if is_link {
                match std::fs::canonicalize(&path) {
                    Ok(target) if !(inside(&target) || leads_to_one(&target)) => {}
                    _ => continue,
                }
            }
            out.push(path);
        }
    }
    out.sort();
    out
}

#[cfg(target_os = "linux")]
mod landlock_rules {
    use std::io;

    use landlock::{
        ABI, Access, AccessFs, LandlockStatus, Ruleset, RulesetAttr, RulesetCreatedAttr,
        RulesetStatus, path_beneath_rules,
    };

    use super::{Confinement, Policy, readable_outside};

    /// The newest ABI whose rights we ask for; older kernels enforce what they know.
    const TARGET_ABI: ABI = ABI::V5;

    fn ruleset_error(e: landlock::RulesetError) -> io::Error {
        io::Error::other(format!("Landlock refused the worker's rules: {e}"))
    }

    pub fn restrict_this_thread(policy: &Policy) -> io::Result<()> {
        let abi = TARGET_ABI;
        let mut protected = Vec::new();
        for path in &policy.protected {
            match std::fs::canonicalize(path) {
                Ok(p) => protected.push(p),
                // Nothing there (yet): nothing to hide, and a path created later is not
                // granted either (rules name what exists now).
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let read = AccessFs::from_read(abi);
        let status = Ruleset::default()
            .handle_access(AccessFs::from_all(abi))
            .and_then(|r| r.create())
            .and_then(|r| r.add_rules(path_beneath_rules(readable_outside(&protected), read)))
            .and_then(|r| r.add_rules(path_beneath_rules(&policy.readable, read)))
            .and_then(|r| r.add_rules(path_beneath_rules(["/dev"], AccessFs::from_all(abi))))
            .and_then(|r| {
                r.add_rules(path_beneath_rules(
                    &policy.writable,
                    AccessFs::from_all(abi),
                ))
            })
            .and_then(|r| r.restrict_self())
            .map_err(ruleset_error)?;
        if status.ruleset == RulesetStatus::NotEnforced {
            return Err(io::Error::other(
                "Landlock did not enforce the worker's rules",
            ));
        }
        Ok(())
    }

    pub fn probe_this_thread() -> Confinement {
        let attempt = Ruleset::default()
            .handle_access(AccessFs::from_all(TARGET_ABI))
            .and_then(|r| r.create())
            .and_then(|r| r.restrict_self());
        match attempt {
            Err(e) => Confinement::Unavailable(format!("Landlock cannot be used here: {e}")),
            Ok(status) => match status.ruleset {
                RulesetStatus::FullyEnforced => Confinement::Enforced,
                RulesetStatus::PartiallyEnforced => Confinement::Partial(format!(
                    "the kernel's Landlock is older than ABI {} ({:?}), so some accesses \
                     (such as renaming across directories or truncating files) are not \
                     restricted",
                    TARGET_ABI as u8, status.landlock
                )),
                RulesetStatus::NotEnforced => Confinement::Unavailable(match status.landlock {
                    LandlockStatus::NotEnabled => {
                        "the kernel has Landlock but it is not enabled (add `landlock` to the \
                         `lsm=` boot parameter)"
                            .to_string()
                    }
                    LandlockStatus::NotImplemented => {
                        "the kernel is built without Landlock (Linux 5.13 or later with \
                         CONFIG_SECURITY_LANDLOCK is needed)"
                            .to_string()
                    }
                    other => format!("Landlock is not enforced ({other:?})"),
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_but_the_protected_directory_is_readable() {
        let root = tempfile::tempdir().expect("tempdir");
        let data = root.path().join("data");
        std::fs::create_dir_all(data.join("runner")).expect("data");
        std::fs::create_dir_all(root.path().join("other")).expect("other");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&data, root.path().join("to-data")).expect("link");
            std::os::unix::fs::symlink(root.path(), root.path().join("to-root")).expect("link");
            std::os::unix::fs::symlink("/usr", root.path().join("to-usr")).expect("link");
        }
        let data = std::fs::canonicalize(&data).expect("canonical");
        let granted = readable_outside(std::slice::from_ref(&data));
        let parent = data.parent().expect("parent");
        assert!(granted.contains(&parent.join("other")), "{granted:?}");
        assert!(!granted.iter().any(|p| p.starts_with(&data)), "{granted:?}");
        assert!(!granted.contains(&parent.join("to-data")));
        assert!(!granted.contains(&parent.join("to-root")));
        #[cfg(unix)]
        assert!(granted.contains(&parent.join("to-usr")));
        assert!(!granted.contains(&parent.to_path_buf()));
    }

    #[test]
    fn several_protected_paths_are_all_hidden_and_their_siblings_kept() {
        let root = tempfile::tempdir().expect("tempdir");
        let root = std::fs::canonicalize(root.path()).expect("canonical");
        for dir in [
            "home/.sluice",
            "home/.config/doctl",
            "home/.config/other",
            "data/sluice",
        ] {
            std::fs::create_dir_all(root.join(dir)).expect("mkdir");
        }
        std::fs::write(root.join("home/notes.txt"), "x").expect("write");
        let protected = vec![
            root.join("data/sluice"),
            root.join("home/.sluice"),
            root.join("home/.config/doctl"),
        ];
        let granted = readable_outside(&protected);
        for hidden in &protected {
            assert!(
                !granted
                    .iter()
                    .any(|g| g.starts_with(hidden) || hidden.starts_with(g)),
                "{hidden:?} in {granted:?}"
            );
        }
        for kept in ["home/notes.txt", "home/.config/other"] {
            assert!(
                granted.contains(&root.join(kept)),
                "{kept} not in {granted:?}"
            );
        }
    }
}
