//! The whole boundary in one process: a plugin exported with `export_plugin!` into this test
//! binary, loaded through its entry function with `load_linked`, and driven through the
//! registry's trait objects exactly as the engine drives a library plugin.

use std::sync::Arc;

use async_trait::async_trait;
use sluice_core::files::Entry;
use sluice_core::{
    Artifact, BuildContext, BuildJob, BuildTarget, Builder, DeployContext, DeployResponse,
    DeployStructure, Deployer, Detection, Engine, Error, Flags, PackageSpec, ProjectFiles,
    ProjectReader, ReadContext, Recorder, Registry, Result, Target,
};
use sluice_plugin_abi::abi::ENTRY_SYMBOL;

struct EchoReader;

impl ProjectReader for EchoReader {
    fn name(&self) -> &str {
        "echo-reader"
    }
    fn claims(&self, location: &str) -> bool {
        location.starts_with("echo:")
    }
    fn read(&self, location: &str, ctx: &ReadContext) -> Result<DeployStructure> {
        ctx.feedback.warn(&format!("reading {location}"));
        // A reader only says there is a `lib/`; the engine plans which builder owns it.
        Ok(DeployStructure {
            packages: vec![PackageSpec {
                name: location.trim_start_matches("echo:").to_string(),
                ..Default::default()
            }],
            lib_build: Some("identify".into()),
            ..Default::default()
        })
    }
}

/// The files of an `echo:` project, which is not on disk: a `lib/` with one file.
#[derive(Debug)]
struct EchoFiles;

impl ProjectFiles for EchoFiles {
    fn root(&self) -> Option<&std::path::Path> {
        None
    }
    fn read(&self, rel: &str) -> Result<Vec<u8>> {
        Err(Error::project(format!("no file {rel}")))
    }
    fn list(&self, rel_dir: &str) -> Result<Vec<Entry>> {
        match rel_dir {
            "lib" => Ok(vec![Entry {
                name: "function.txt".into(),
                is_dir: false,
            }]),
            _ => Err(Error::project(format!("no directory {rel_dir}"))),
        }
    }
    fn exists(&self, rel: &str) -> bool {
        rel == "lib" || rel == "lib/function.txt"
    }
}

struct TextBuilder;

impl Builder for TextBuilder {
    fn name(&self) -> &str {
        "text"
    }
    fn detect(&self, target: &BuildTarget<'_>) -> Option<Detection> {
        target.has_file("function.txt").then(|| Detection {
            kind: "function.txt".into(),
            priority: 40,
        })
    }
    fn build(&self, job: &BuildJob<'_>, ctx: &BuildContext) -> Result<Option<Artifact>> {
        match job {
            BuildJob::Action { action, .. } if action.name == "boom" => {
                panic!("boom in {}", action.name)
            }
            BuildJob::Action { action, .. } if action.name == "fail" => Err(Error::Build {
                entity: "action 'fail'".into(),
                message: "cannot build".into(),
                output: Some("log".into()),
            }),
            BuildJob::Action { action, .. } => {
                ctx.feedback.progress("building");
                Ok(Some(Artifact {
                    file: format!("{}.txt", action.name),
                    runtime: Some("nodejs:18".into()),
                    binary: false,
                    zipped: false,
                    main: None,
                    status: Default::default(),
                }))
            }
            BuildJob::Lib { .. } => Ok(None),
        }
    }
}

struct CountingDeployer;

#[async_trait]
impl Deployer for CountingDeployer {
    fn name(&self) -> &str {
        "counting"
    }
    async fn prepare(&self, ctx: &DeployContext) -> Result<Target> {
        let creds = ctx.credentials.clone().unwrap_or_default();
        Ok(Target::new("https://example.invalid", "ns", creds))
    }
    async fn deploy(
        &self,
        _ctx: &DeployContext,
        target: &Target,
        project: &DeployStructure,
    ) -> Result<DeployResponse> {
        Ok(DeployResponse {
            namespace: Some(target.namespace.clone()),
            ignored: project.packages.iter().map(|p| p.name.clone()).collect(),
            ..Default::default()
        })
    }
}

sluice_plugin_abi::export_plugin! {
    name: "linked-test",
    version: "9.9.9",
    reader: EchoReader,
    builder: TextBuilder,
    deployer: CountingDeployer,
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    let loaded = sluice_plugin_abi::load_linked(
        &mut registry,
        sluice_plugin_declare,
        "linked-test",
        &sluice_core::Silent,
    )
    .expect("the linked plugin loads");
    assert_eq!(loaded.name, "linked-test");
    assert_eq!(loaded.version, "9.9.9");
    assert_eq!(loaded.reader.as_deref(), Some("echo-reader"));
    assert_eq!(loaded.builder.as_deref(), Some("text"));
    assert_eq!(loaded.deployer.as_deref(), Some("counting"));
    registry
}

#[test]
fn entry_symbol_name_matches_the_macro() {
    assert_eq!(ENTRY_SYMBOL, "sluice_plugin_declare");
}

#[test]
fn reader_claims_reads_and_the_engine_plans_with_the_plugin_builder() {
    let registry = registry();
    let reader = registry.reader_for("echo:pkg").expect("claimed");
    assert!(registry.reader_for("/some/dir").is_err());
    let recorder = Arc::new(Recorder::default());
    let mut ctx = ReadContext::new(Flags::default());
    ctx.feedback = recorder.clone();
    let mut project = reader.read("echo:pkg", &ctx).expect("reads");
    assert_eq!(project.packages[0].name, "pkg");
    assert_eq!(project.lib_build.as_deref(), Some("identify"));
    assert_eq!(recorder.warnings(), ["reading echo:pkg"]);
    // The engine's plan asks the registered builders — the plugin's, across the ABI — over
    // the reader's files.
    let engine = Engine::new(registry);
    engine.plan(&mut project, &EchoFiles, &ctx).expect("plans");
    assert_eq!(project.lib_build.as_deref(), Some("function.txt"));
}

#[test]
fn builder_results_errors_and_panics_cross_as_values() {
    let registry = registry();
    let builder = registry.builders().pop().expect("a builder");
    let ctx = BuildContext::new("/p", Flags::default());
    let mut action = sluice_core::ActionSpec {
        name: "ok".into(),
        ..Default::default()
    };
    let job = |a: &sluice_core::ActionSpec| {
        builder.build(
            &BuildJob::Action {
                package: "p",
                action: a,
            },
            &ctx,
        )
    };
    let artifact = job(&action).expect("builds").expect("an artifact");
    assert_eq!(artifact.file, "ok.txt");

    action.name = "fail".into();
    let err = job(&action).expect_err("fails");
    assert!(
        matches!(&err, Error::Build { output: Some(o), .. } if o == "log"),
        "{err:?}"
    );

    action.name = "boom".into();
    let err = job(&action).expect_err("panics");
    assert_eq!(
        err.to_string(),
        "plugin 'linked-test': panicked in build: boom in boom"
    );
}

#[test]
fn deployer_runs_async_on_the_host() {
    let registry = registry();
    let deployer = registry.deployer("counting").expect("registered");
    let ctx = DeployContext::new(Flags::default(), None);
    let project = DeployStructure {
        packages: vec![PackageSpec {
            name: "a".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let response = futures::executor::block_on(async {
        let target = deployer.prepare(&ctx).await?;
        deployer.deploy(&ctx, &target, &project).await
    })
    .expect("deploys");
    assert_eq!(response.namespace.as_deref(), Some("ns"));
    assert_eq!(response.ignored, ["a"]);
    let err = futures::executor::block_on(deployer.undeploy(
        &ctx,
        &Target::new("h", "n", Default::default()),
        &Default::default(),
    ))
    .expect_err("the default undeploy refuses");
    assert_eq!(err.to_string(), "the 'counting' deployer cannot undeploy");
}

#[test]
fn loading_twice_into_one_registry_registers_once_and_feedback_is_quiet() {
    let mut registry = registry();
    let recorder = Recorder::default();
    sluice_plugin_abi::load_linked(
        &mut registry,
        sluice_plugin_declare,
        "linked-test",
        &recorder,
    )
    .expect("loads again");
    assert_eq!(registry.describe().len(), 3);
    assert!(recorder.lines().is_empty());
}
