//! `sluice build <project>`: read, then build every function (and `lib/` when the plan says
//! so), without deploying; prints what each function became.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sluice_core::engine::{BuildOutcome, BuildReport};
use sluice_core::{BuildContext, DeployStructure, Engine, Excluder, Feedback, Flags, ReadContext};

use super::render::{CliError, ConsoleFeedback, StderrFeedback};
use super::setup;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory
    project: String,
    /// Property file (dotenv or JSON) for ${VAR} substitution in project.yml [default: <project>/.env]
    #[arg(long, value_name = "FILE")]
    env: Option<PathBuf>,
    /// Property file whose entries are added to the environment of build scripts (they win)
    #[arg(long, value_name = "FILE")]
    build_env: Option<PathBuf>,
    /// Only these packages or functions (comma-separated `pkg`, `pkg/` or `pkg/fn`)
    #[arg(long, value_name = "LIST")]
    include: Option<String>,
    /// Leave out these packages or functions (comma-separated `pkg`, `pkg/` or `pkg/fn`)
    #[arg(long, value_name = "LIST")]
    exclude: Option<String>,
    /// Skip builds that are still valid (`.built`, an up-to-date node_modules or zip)
    #[arg(long)]
    incremental: bool,
    /// Show the output of build scripts as they run
    #[arg(long)]
    verbose_build: bool,
    /// Say when functions are zipped
    #[arg(long)]
    verbose_zip: bool,
    /// Use yarn instead of npm for package.json builds
    #[arg(long)]
    yarn: bool,
    /// Most builds at once [default: number of CPUs]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    build_jobs: Option<u16>,
    /// Print the result as JSON on stdout (progress is not shown; warnings go to stderr)
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    plugins: super::plugins::PluginArgs,
    #[command(flatten)]
    hooks: super::hooks::HookArgs,
}

/// What one function became, as printed.
#[derive(Debug, Serialize)]
struct FunctionResult {
    name: String,
    /// `built`, `reused`, `skipped`, `supplied`, `unbuilt` (deployed as is), `omitted` (a
    /// hook left it out) or `failed`.
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    binary: Option<bool>,
    /// SHA-256 of the artifact's bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct BuildSummary {
    functions: Vec<FunctionResult>,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let flags = Flags {
        env: args.env.map(|p| p.display().to_string()),
        build_env: args.build_env.map(|p| p.display().to_string()),
        include: args.include,
        exclude: args.exclude,
        incremental: args.incremental,
        verbose_build: args.verbose_build,
        verbose_zip: args.verbose_zip,
        yarn: args.yarn,
        json: args.json,
        build_jobs: args.build_jobs.map(usize::from),
        ..Flags::default()
    };
    let feedback: Arc<dyn Feedback> = if args.json {
        Arc::new(StderrFeedback)
    } else if std::io::stdout().is_terminal() {
        Arc::new(terminal::TerminalFeedback::new())
    } else {
        Arc::new(ConsoleFeedback::default())
    };
    let home = setup::home_dir();
    let (excluder, bad_patterns) = Excluder::with_user_file(home.as_deref());
    for warning in bad_patterns {
        feedback.warn(&warning);
    }

    let project_dir = std::path::absolute(&args.project).map_err(CliError::other)?;
    let engine = Engine::new(args.plugins.registry(&args.project)?);
    let engine = args.hooks.install(
        engine,
        &project_dir,
        feedback.clone(),
        &setup::env_snapshot(),
    )?;
    let mut read_ctx = ReadContext::new(flags.clone());
    read_ctx.env = setup::env_snapshot();
    read_ctx.excluder = excluder.clone();
    read_ctx.home = home;
    read_ctx.feedback = feedback.clone();
    let mut project = engine
        .read(&args.project, &read_ctx)
        .map_err(|e| CliError::from_core(&e, Some(&project_dir)))?;
    if let Some(names) = project
        .unresolved_variables
        .clone()
        .filter(|n| !n.is_empty())
    {
        return Err(CliError::from_core(
            &sluice_core::Error::Unresolved { names },
            Some(&project_dir),
        ));
    }

    let mut ctx = BuildContext::new(&project_dir, flags);
    ctx.build_env = project.build_env.clone().unwrap_or_default();
    ctx.best_project_name = project
        .deployer_annotation
        .as_ref()
        .map(|a| a.best_project_name())
        .unwrap_or_else(|| args.project.clone());
    ctx.excluder = excluder;
    ctx.feedback = feedback;
    let reports = engine
        .build(&mut project, &ctx)
        .map_err(|e| CliError::from_core(&e, Some(&project_dir)))?;

    let mut functions: Vec<FunctionResult> = reports
        .iter()
        .map(|r| describe(r, &project, &project_dir))
        .collect();
    functions.sort_by(|a, b| a.name.cmp(&b.name));
    let failed = functions.iter().any(|f| f.status == "failed");
    if args.json {
        let summary = BuildSummary { functions };
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).map_err(CliError::other)?
        );
    } else {
        print_human(&functions);
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn describe(report: &BuildReport, project: &DeployStructure, project_dir: &Path) -> FunctionResult {
    let action = project
        .packages
        .iter()
        .filter(|p| p.name == report.package)
        .flat_map(|p| p.actions.iter())
        .find(|a| a.name == report.action);
    let mut out = FunctionResult {
        name: report.entity.clone(),
        status: String::new(),
        file: None,
        size: None,
        runtime: action.and_then(|a| a.runtime.clone()),
        binary: None,
        digest: None,
        error: None,
    };
    match &report.outcome {
        BuildOutcome::Artifact(artifact) => {
            out.status = artifact.status.to_string();
            out.binary = Some(artifact.binary);
            out.runtime = out.runtime.or_else(|| artifact.runtime.clone());
            describe_file(&mut out, &artifact.file, project_dir);
        }
        BuildOutcome::Unbuilt => {
            out.status = "unbuilt".to_string();
            if let Some(a) = action.filter(|a| !a.is_sequence()) {
                out.binary = a.binary;
                if let Some(file) = &a.file {
                    describe_file(&mut out, file, project_dir);
                }
            }
        }
        BuildOutcome::SkippedByHook => out.status = "omitted".to_string(),
        BuildOutcome::Failed(message) => {
            out.status = "failed".to_string();
            out.error = Some(message.clone());
        }
    }
    out
}

/// Fills in the path, size and digest of the file a function deploys.
fn describe_file(out: &mut FunctionResult, file: &str, project_dir: &Path) {
    out.file = Some(file.to_string());
    let path = if Path::new(file).is_absolute() {
        PathBuf::from(file)
    } else {
        project_dir.join(file)
    };
    if let Ok((size, digest)) = size_and_digest(&path) {
        out.size = Some(size);
        out.digest = Some(digest);
    }
}

fn size_and_digest(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    let digest = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((size, digest))
}

fn print_human(functions: &[FunctionResult]) {
    if functions.is_empty() {
        println!("Nothing to build");
        return;
    }
    let failed = functions.iter().filter(|f| f.status == "failed").count();
    println!(
        "Results of building {} function{}{}:",
        functions.len(),
        if functions.len() == 1 { "" } else { "s" },
        if failed > 0 {
            format!(" ({failed} failed)")
        } else {
            String::new()
        }
    );
    for f in functions {
        match (&f.error, &f.file) {
            (Some(error), _) => println!("  - {}: failed: {error}", f.name),
            (None, Some(file)) => {
                let mut details = Vec::new();
                if let Some(size) = f.size {
                    details.push(format!("{size} bytes"));
                }
                if let Some(runtime) = &f.runtime {
                    details.push(runtime.clone());
                }
                if f.binary == Some(true) {
                    details.push("binary".to_string());
                }
                if let Some(digest) = &f.digest {
                    details.push(format!("sha256 {digest}"));
                }
                println!(
                    "  - {}: {} {file} ({})",
                    f.name,
                    f.status,
                    details.join(", ")
                );
            }
            (None, None) => println!("  - {}: {}", f.name, f.status),
        }
    }
}

/// On a terminal: one spinner line per function being built, with progress and warnings
/// scrolling above them, so parallel builds stay readable.
mod terminal {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::Duration;

    use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
    use sluice_core::{Feedback, Step};

    pub struct TerminalFeedback {
        multi: MultiProgress,
        bars: Mutex<HashMap<String, ProgressBar>>,
    }

    impl TerminalFeedback {
        pub fn new() -> Self {
            TerminalFeedback {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
                bars: Mutex::new(HashMap::new()),
            }
        }
    }

    impl Feedback for TerminalFeedback {
        fn progress(&self, message: &str) {
            let _ = self.multi.println(message);
        }

        fn warn(&self, message: &str) {
            let _ = self.multi.println(message);
        }

        fn step(&self, step: &Step) {
            let Ok(mut bars) = self.bars.lock() else {
                return;
            };
            match step {
                Step::BuildStarted { entity } => {
                    let bar = self.multi.add(ProgressBar::new_spinner());
                    if let Ok(style) =
                        ProgressStyle::with_template("{spinner} building {msg} ({elapsed})")
                    {
                        bar.set_style(style);
                    }
                    bar.set_message(entity.clone());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bars.insert(entity.clone(), bar);
                }
                Step::BuildFinished { entity, .. } => {
                    if let Some(bar) = bars.remove(entity) {
                        bar.finish_and_clear();
                        self.multi.remove(&bar);
                    }
                }
                _ => {}
            }
        }
    }
}
