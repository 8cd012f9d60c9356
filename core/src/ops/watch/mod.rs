//! `watch`: a deploy per batch of saved files, for as long as the caller lets it run.
//!
//! Why it is built this way (the original's watch and others' fail their users, spec §14):
//! - **One loop, one deploy at a time.** Filesystem events (`notify`, less mere reads: a
//!   deploy reads every file it sends) go into a channel; the loop waits until they have been
//!   quiet for the debounce window, takes the batch, deploys it, and only
//!   then looks at the channel again, so whatever arrived during a deploy becomes exactly one
//!   follow-up batch. Deploys never overlap.
//! - **Only what changed.** A changed path maps to its function (`packages/<pkg>/<fn>…`),
//!   which is deployed with an `--include` of the affected functions and `--incremental`,
//!   verified against the namespace. `lib/`, `project.yml`, `sluice.toml`, `.env`, the `--env`/`--build-env`
//!   files and hook files can affect anything: they deploy the whole project, incrementally.
//! - **Never loops on its own output.** `.deployed/`, `__deployer__.zip`, `.built`,
//!   `node_modules/`, `.git/`, the system exclusion list and each function's `.ignore` never
//!   trigger a deploy; neither does a change inside the directory of a function (or `lib/`)
//!   with a build of its own while a deploy runs, since that is the build writing its output.
//! - **Always resumes.** Every error of a batch (an unreadable project, a failed build, an
//!   unreachable namespace) is reported and the loop goes on; the next save retries.
//! - **Fresh session per batch.** `open` makes the session for each batch, so edits to hook
//!   files and to the `hooks:`/`plugins:` of project.yml take effect without a restart.
//!
//! Nothing here prints: events go to the caller's [`WatchReport`].

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::{self, EventKind, RecursiveMode, Watcher};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::{DeployResponse, Flags};
use crate::system_ignore::SystemIgnore;

mod paths;

use paths::{PathMapper, relative};

use super::deploy::{self, DeployOptions};
use super::session::{Session, Targets};

/// How often the loop looks at the stop flag while it waits for changes.
const STOP_POLL: Duration = Duration::from_millis(50);

/// What to watch, and how to deploy it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WatchOptions {
    /// The project directory.
    pub project: String,
    /// The deploy flags; `incremental` is always on for the deploys of a watch.
    pub flags: Flags,
    /// The deployer to use, by name; `None` is the registry's default.
    pub deployer: Option<String>,
    /// How long the files must be quiet before a batch is deployed.
    pub debounce: Duration,
}

impl WatchOptions {
    pub fn new(project: impl Into<String>, flags: Flags, deployer: Option<String>) -> Self {
        WatchOptions {
            project: project.into(),
            flags,
            deployer,
            debounce: Duration::from_millis(200),
        }
    }
}

/// Asks a running watch to stop; cheap to clone, safe to use from a signal handler's task.
#[derive(Debug, Clone, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    pub fn new() -> Self {
        StopHandle::default()
    }
    /// The watch stops after the deploy in progress, if any, ends.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// One batch of changes, as mapped to the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeBatch {
    /// The changed paths, relative to the project, `/`-separated and sorted.
    pub paths: Vec<String>,
    /// The functions (`pkg/fn`) and packages (`pkg`) the paths belong to, sorted.
    pub functions: Vec<String>,
    /// True when the whole project is deployed (`lib/`, `project.yml`, `.env`, a hook file).
    pub whole_project: bool,
}

/// What a watch reports, in order.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum WatchEvent {
    /// The watcher runs.
    Watching { project: PathBuf },
    /// A batch of changes will be deployed.
    Change(ChangeBatch),
    /// A batch of changes was not deployed, and why (nothing deployable, or a hook said so).
    Skipped { paths: Vec<String>, reason: String },
    /// A batch was deployed (possibly with failures of single entities).
    Deploy {
        functions: Vec<String>,
        whole_project: bool,
        millis: u64,
        outcome: Box<DeployResponse>,
    },
    /// The watch stopped as asked.
    Stopped,
}

/// Receives a watch's events; the CLI renders them as lines or NDJSON.
pub trait WatchReport: Send + Sync {
    fn event(&self, event: &WatchEvent);
    /// A batch failed as a whole after `millis`; the watch goes on.
    fn error(&self, error: &Error, millis: u64);
}

/// Watches `options.project` until `stop` is set, deploying each batch of changes with a
/// session from `open`. Only a watcher that cannot start is an `Err`: errors of a batch are
/// reported and the watch goes on.
pub async fn watch(
    open: &dyn Fn() -> Result<Session>,
    options: &WatchOptions,
    targets: &dyn Targets,
    report: &dyn WatchReport,
    stop: &StopHandle,
) -> Result<()> {
    let project_dir =
        std::path::absolute(&options.project).map_err(|e| Error::io(&options.project, e))?;
    // Events name canonical paths (symlinked temp dirs, macOS's /private).
    let root = project_dir
        .canonicalize()
        .map_err(|e| Error::io(&project_dir, e))?;
    let (tx, rx) = mpsc::channel::<Vec<PathBuf>>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        // A watcher error (a queue overflow) loses events, not the watch.
        if let Ok(event) = res
            && !matches!(event.kind, EventKind::Access(_))
        {
            let _ = tx.send(event.paths);
        }
    })
    .map_err(|e| watch_error(&e))?;
    watcher
        .watch(&root, RecursiveMode::Recursive)
        .map_err(|e| watch_error(&e))?;
    report.event(&WatchEvent::Watching {
        project: project_dir.clone(),
    });

    // The user's exclusion list comes with a session; one that cannot open now is reported
    // with the first batch.
    let system_ignore = match open() {
        Ok(session) => session.system_ignore.clone(),
        Err(_) => SystemIgnore::default(),
    };
    let mapper = PathMapper::new(&root, &options.flags, system_ignore);
    // What came during the last deploy (less its builds' writes): the start of one batch.
    let mut pending: Vec<PathBuf> = Vec::new();
    while let Some(raw) = next_batch(&rx, stop, options.debounce, std::mem::take(&mut pending)) {
        let (paths, batch) = mapper.map_paths(&raw);
        let Some(mut batch_ref) = batch else {
            if !paths.is_empty() {
                report.event(&WatchEvent::Skipped {
                    paths,
                    reason: "no function, lib/ or project file changed".to_string(),
                });
            }
            continue;
        };
        let started = Instant::now();
        let session = match open() {
            Ok(s) => s,
            Err(e) => {
                report.event(&WatchEvent::Change(batch_ref));
                report.error(&e, millis(started));
                continue;
            }
        };
        // Hooks load the project's files lazily, at its read: this event comes first.
        let hook_files = session
            .manifest(&options.project)
            .map(|m| m.hooks)
            .unwrap_or_default();
        match session
            .engine
            .hooks
            .watch_change(&batch_ref.paths, &hook_files)
        {
            Ok(None) => {}
            Ok(Some(kept)) if kept.is_empty() => {
                report.event(&WatchEvent::Skipped {
                    paths: batch_ref.paths,
                    reason: "a watch:change hook skipped the deploy".to_string(),
                });
                continue;
            }
            Ok(Some(kept)) => {
                let raw_kept: Vec<PathBuf> = kept.iter().map(|p| root.join(p)).collect();
                match mapper.map_paths(&raw_kept).1 {
                    Some(b) => batch_ref = b,
                    None => {
                        report.event(&WatchEvent::Skipped {
                            paths: kept,
                            reason: "a watch:change hook kept no deployable path".to_string(),
                        });
                        continue;
                    }
                }
            }
            Err(e) => {
                report.error(&e, millis(started));
                continue;
            }
        }
        if mapper.user_filter_excludes_all(&batch_ref) {
            report.event(&WatchEvent::Skipped {
                paths: batch_ref.paths,
                reason: "every changed function is left out by --include/--exclude".to_string(),
            });
            continue;
        }
        report.event(&WatchEvent::Change(batch_ref.clone()));
        let busy_dirs = mapper.build_dirs(&batch_ref);
        let deploy_options = DeployOptions::new(
            options.project.clone(),
            mapper.flags_for(&batch_ref),
            options.deployer.clone(),
        );
        let outcome = deploy::deploy(&session, &deploy_options, targets).await;
        // Events already queued happened during the deploy (drained before its outcome is
        // reported, which a caller may answer with a save): in a directory a build ran in
        // they are the build's output, elsewhere they are saves for the next batch.
        while let Ok(paths) = rx.try_recv() {
            pending.extend(paths.into_iter().filter(|p| {
                relative(&root, p)
                    .is_some_and(|rel| !busy_dirs.iter().any(|d| rel.starts_with(&format!("{d}/"))))
            }));
        }
        match outcome {
            Ok(outcome) => report.event(&WatchEvent::Deploy {
                functions: batch_ref.functions,
                whole_project: batch_ref.whole_project,
                millis: millis(started),
                outcome: Box::new(outcome.response),
            }),
            Err(e) => {
                session.engine.hooks.on_error(&e);
                report.error(&e, millis(started));
            }
        }
        drop(session);
        if stop.is_stopped() {
            break;
        }
    }
    drop(watcher);
    report.event(&WatchEvent::Stopped);
    Ok(())
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn watch_error(e: &notify::Error) -> Error {
    Error::usage(format!("cannot watch the project: {e}"))
}

/// The changed paths of the next batch, once no event came for `quiet`; `None` once `stop`
/// is set.
fn next_batch(
    rx: &mpsc::Receiver<Vec<PathBuf>>,
    stop: &StopHandle,
    quiet: Duration,
    pending: Vec<PathBuf>,
) -> Option<Vec<PathBuf>> {
    let mut batch = if !pending.is_empty() {
        pending
    } else {
        loop {
            if stop.is_stopped() {
                return None;
            }
            match rx.recv_timeout(STOP_POLL) {
                Ok(paths) => break paths,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
    };
    let mut last = Instant::now();
    loop {
        if stop.is_stopped() {
            return None;
        }
        let left = quiet.saturating_sub(last.elapsed());
        if left.is_zero() {
            return Some(batch);
        }
        match rx.recv_timeout(left.min(STOP_POLL)) {
            Ok(paths) => {
                batch.extend(paths);
                last = Instant::now();
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return Some(batch),
        }
    }
}
