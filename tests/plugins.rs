//! Shared-library plugins end to end: the example plugins and the deliberately broken
//! fixture plugins are built with cargo (in the workspace, into a target directory of their
//! own), loaded with `sluice-plugin-abi`, and driven through the engine like built-ins.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use common::ProjectTest;
use sluice_core::{
    BuildContext, BuildOutcome, Engine, Error, Flags, Origin, ReadContext, Recorder, Registry,
};
use sluice_plugin_abi::{PluginSource, PluginSpec, ProjectTrust};

/// Every plugin crate the tests load.
const PLUGIN_CRATES: &[&str] = &[
    "sluice-function-template",
    "sluice-functions-toml",
    "sluice-testing-abi-mismatch",
    "sluice-testing-bad-json",
    "sluice-testing-manifest",
    "sluice-testing-no-entry",
    "sluice-testing-panic",
];

/// Builds the plugin crates once per test binary and returns the directory of the libraries.
///
/// The target directory is the tests' own (`CARGO_TARGET_TMPDIR/plugins`): the outer
/// `cargo test` holds the lock of the main one while tests run.
fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugins");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.arg("build").arg("--quiet");
        for c in PLUGIN_CRATES {
            cmd.args(["-p", c]);
        }
        let status = cmd
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("run cargo build for the plugins");
        assert!(status.success(), "building the plugin crates failed");
        target.join("debug")
    })
}

/// The built library of a plugin crate (`sluice-function-template` →
/// `libsluice_function_template.so` on Linux).
fn plugin_lib(krate: &str) -> PathBuf {
    let file = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        krate.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    );
    plugin_dir().join(file)
}

/// The registry the CLI starts from.
fn builtins() -> Registry {
    let mut r = Registry::new();
    r.add_reader(Arc::new(sluice_fs_reader::FsReader), Origin::BuiltIn, false)
        .expect("fs reader");
    r.add_builder(Arc::new(sluice_core::Finder), Origin::BuiltIn, false)
        .expect("finder");
    r.add_builder(
        Arc::new(sluice_script_builder::ScriptBuilder),
        Origin::BuiltIn,
        false,
    )
    .expect("script");
    r.add_builder(
        Arc::new(sluice_npm_builder::NpmBuilder),
        Origin::BuiltIn,
        false,
    )
    .expect("npm");
    r
}

fn cli_spec(path: &Path) -> PluginSpec {
    PluginSpec::parse(&path.display().to_string(), None, PluginSource::CommandLine)
}

/// The templated example naming its own copy of the plugin in project.yml `plugins:` (the
/// example itself expects `sluice plugins install`; `tests/plugins_install.rs` does that).
fn templated_project() -> ProjectTest {
    let yml = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/templated/project.yml"),
    )
    .expect("read the example's project.yml");
    let test = ProjectTest::from_dir("examples/templated").write(
        "project.yml",
        format!("plugins:\n  - plugins/libsluice_function_template.so\n{yml}"),
    );
    let lib = plugin_lib("sluice-function-template");
    let dest = test.path().join("plugins");
    std::fs::create_dir_all(&dest).expect("mkdir plugins");
    std::fs::copy(&lib, dest.join(lib.file_name().expect("file name"))).expect("copy the plugin");
    // A project's own library loads only once trusted (tests/trust.rs tests the refusal).
    let trusted = test
        .command(["plugins", "trust", "plugins/libsluice_function_template.so"])
        .output()
        .expect("run sluice plugins trust");
    assert!(trusted.status.success(), "{trusted:?}");
    test
}

fn read_context(home: Option<PathBuf>) -> ReadContext {
    let mut ctx = ReadContext::new(Flags::default());
    ctx.home = home;
    ctx
}

/// JSON with the temporary project path replaced.
fn redacted(value: &impl serde::Serialize, project: &Path) -> serde_json::Value {
    let text = serde_json::to_string_pretty(value).expect("serializes");
    let text = text.replace(&project.display().to_string(), "[PROJECT]");
    let text = project
        .canonicalize()
        .map(|c| text.replace(&c.display().to_string(), "[PROJECT]"))
        .unwrap_or(text);
    serde_json::from_str(&common::redact(&text, &[])).expect("still JSON")
}

#[test]
fn the_template_plugin_named_in_project_yml_builds_the_templated_example() {
    let test = templated_project();
    let location = test.path().display().to_string();
    let mut registry = builtins();
    let loaded = sluice_plugin_abi::load_for_project(
        &mut registry,
        &[],
        Some(&location),
        &read_context(None),
        &ProjectTrust::Everything,
    )
    .expect("the plugin loads");
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].name, "function-template");
    assert_eq!(loaded[0].source, PluginSource::Project);
    assert_eq!(loaded[0].builder.as_deref(), Some("function-template"));

    let engine = Engine::new(registry);
    let ctx = read_context(None);
    let mut project = engine.read(&location, &ctx).expect("reads");
    let plan: Vec<(String, Option<String>)> = project
        .actions()
        .map(|(p, a)| (a.qualified_name(&p.name), a.build.clone()))
        .collect();
    assert_eq!(
        plan,
        [
            (
                "greetings/bonjour".to_string(),
                Some("function.toml".to_string())
            ),
            (
                "greetings/hello".to_string(),
                Some("function.toml".to_string())
            ),
            ("greetings/plain".to_string(), Some("identify".to_string())),
        ]
    );

    let recorder = Arc::new(Recorder::default());
    let mut build_ctx = BuildContext::new(test.path(), Flags::default());
    build_ctx.feedback = recorder.clone();
    let reports = engine.build(&mut project, &build_ctx).expect("builds");
    for r in &reports {
        assert!(matches!(r.outcome, BuildOutcome::Artifact(_)), "{r:?}");
    }
    // Progress from inside the plugin came back through the host callback.
    let mut lines: Vec<String> = recorder.lines().into_iter().map(|(_, l)| l).collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "Rendered greetings/bonjour from templates/greeter.js.j2",
            "Rendered greetings/hello from templates/greeter.js.j2",
        ]
    );
    insta::assert_json_snapshot!(
        "templated_after_build",
        redacted(&project.packages, test.path())
    );
    let bonjour = std::fs::read_to_string(
        test.path()
            .join(".deployed/function-template/greetings/bonjour.js"),
    )
    .expect("rendered");
    insta::assert_snapshot!("templated_bonjour_js", bonjour);
}

#[test]
fn the_reader_plugin_reads_a_functions_toml_project() {
    let test = ProjectTest::from_dir("examples/toml-functions");
    let location = test.path().display().to_string();
    let mut registry = builtins();
    let spec = cli_spec(&plugin_lib("sluice-functions-toml"));
    let loaded =
        sluice_plugin_abi::load_into(&mut registry, &[spec], &sluice_core::Silent).expect("loads");
    assert_eq!(loaded[0].reader.as_deref(), Some("functions-toml"));
    // The plugin reader goes first, but only claims what it recognises.
    assert!(
        registry
            .reader_for("examples/hello")
            .is_ok_and(|r| r.name() == "fs")
    );

    let engine = Engine::new(registry);
    let project = engine.read(&location, &read_context(None)).expect("reads");
    insta::assert_json_snapshot!("toml_functions_structure", redacted(&project, test.path()));
}

#[test]
fn plugins_installed_in_the_home_are_loaded_once() {
    let home = tempfile::tempdir().expect("tempdir");
    let dir = home.path().join("plugins");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let lib = plugin_lib("sluice-functions-toml");
    std::fs::copy(&lib, dir.join("libsluice_functions_toml.so")).expect("copy");
    let mut registry = builtins();
    // The same library again on the command line (by another path) is not loaded twice.
    let cli = [dir
        .join("..")
        .join("plugins")
        .join("libsluice_functions_toml.so")
        .display()
        .to_string()];
    let loaded = sluice_plugin_abi::load_for_project(
        &mut registry,
        &cli,
        None,
        &read_context(Some(home.path().into())),
        &ProjectTrust::Recorded(Some(home.path().into())),
    )
    .expect("loads");
    assert_eq!(loaded.len(), 1, "{loaded:?}");
    assert_eq!(loaded[0].source, PluginSource::Home);
    let readers: Vec<String> = registry
        .describe()
        .into_iter()
        .filter(|(kind, _, _)| *kind == "reader")
        .map(|(_, name, _)| name)
        .collect();
    assert_eq!(readers, ["functions-toml", "fs"]);
}

#[test]
fn a_plugin_cannot_silently_replace_a_registered_builder() {
    let lib = plugin_lib("sluice-function-template");
    let mut registry = builtins();
    // A built-in that happens to have the plugin's builder name.
    struct Same;
    impl sluice_core::Builder for Same {
        fn name(&self) -> &str {
            "function-template"
        }
        fn detect(&self, _: &sluice_core::BuildTarget<'_>) -> Option<sluice_core::Detection> {
            None
        }
        fn build(
            &self,
            _: &sluice_core::BuildJob<'_>,
            _: &BuildContext,
        ) -> sluice_core::Result<Option<sluice_core::Artifact>> {
            Ok(None)
        }
    }
    registry
        .add_builder(Arc::new(Same), Origin::BuiltIn, false)
        .expect("added");
    let err = sluice_plugin_abi::load_into(&mut registry, &[cli_spec(&lib)], &sluice_core::Silent)
        .expect_err("refused");
    let text = err.to_string();
    assert!(
        text.starts_with("plugin 'function-template': a builder named 'function-template' is already registered; to replace it, name it: --plugin function-template="),
        "{text}"
    );
    // Named by the user, it replaces the built-in.
    let named = format!("function-template={}", lib.display());
    let spec = PluginSpec::parse(&named, None, PluginSource::CommandLine);
    sluice_plugin_abi::load_into(&mut registry, &[spec], &sluice_core::Silent).expect("replaces");
    let origin = registry
        .describe()
        .into_iter()
        .find(|(_, name, _)| name == "function-template")
        .map(|(_, _, o)| o);
    assert!(matches!(origin, Some(Origin::Library(_))), "{origin:?}");
}

fn load_error(krate: &str) -> Error {
    let mut registry = builtins();
    sluice_plugin_abi::load_into(
        &mut registry,
        &[cli_spec(&plugin_lib(krate))],
        &sluice_core::Silent,
    )
    .expect_err("the plugin is refused")
}

#[test]
fn a_library_without_the_entry_symbol_is_refused_by_name() {
    let err = load_error("sluice-testing-no-entry");
    let text = err.to_string();
    assert!(
        text.starts_with("plugin 'libsluice_testing_no_entry.so': not a sluice plugin: it exports no 'sluice_plugin_declare' symbol"),
        "{text}"
    );
}

#[test]
fn an_abi_version_mismatch_is_refused_with_both_versions() {
    let text = load_error("sluice-testing-abi-mismatch").to_string();
    assert!(
        text.starts_with("plugin 'libsluice_testing_abi_mismatch.so': it was built for plugin ABI version 999, but this sluice speaks ABI version 1; rebuild the plugin against sluice-plugin-abi"),
        "{text}"
    );
}

/// A project whose one function is claimed by the given fixture builder (it has `marker`).
fn build_one_with(krate: &str, marker: &str) -> BuildOutcome {
    let test = ProjectTest::empty()
        .write("project.yml", "packages: []\n")
        .write(format!("packages/p/f/{marker}"), "x")
        .write("packages/p/f/index.js", "exports.main = () => ({})");
    let location = test.path().display().to_string();
    let mut registry = builtins();
    sluice_plugin_abi::load_into(
        &mut registry,
        &[cli_spec(&plugin_lib(krate))],
        &sluice_core::Silent,
    )
    .expect("loads");
    let engine = Engine::new(registry);
    let mut project = engine.read(&location, &read_context(None)).expect("reads");
    let reports = engine
        .build(
            &mut project,
            &BuildContext::new(test.path(), Flags::default()),
        )
        .expect("the build phase itself succeeds");
    assert_eq!(reports.len(), 1);
    reports
        .into_iter()
        .next()
        .map(|r| r.outcome)
        .expect("one report")
}

#[test]
fn a_panic_inside_build_fails_that_function_and_names_the_plugin() {
    let outcome = build_one_with("sluice-testing-panic", "panic.txt");
    assert_eq!(
        outcome,
        BuildOutcome::Failed(
            "plugin 'testing-panic': panicked in build: the testing-panic plugin always panics (building p/f)".into()
        )
    );
}

#[test]
fn invalid_json_from_a_plugin_fails_that_function_and_names_the_plugin() {
    let BuildOutcome::Failed(message) = build_one_with("sluice-testing-bad-json", "bad.txt") else {
        panic!("the build must fail");
    };
    assert!(
        message.starts_with("plugin 'testing-bad-json': build returned invalid JSON ("),
        "{message}"
    );
    assert!(
        message.ends_with(r#"{"schema":1,"ok":{"file": <not json>"#),
        "{message}"
    );
}

#[test]
fn get_metadata_reads_a_functions_toml_project_with_the_plugin_flag() {
    let test = ProjectTest::from_dir("examples/toml-functions");
    // Next to the project, so the path in the snapshot's header is a redacted temporary one.
    let lib = test.temp().join("libsluice_functions_toml.so");
    std::fs::copy(plugin_lib("sluice-functions-toml"), &lib).expect("copy");
    let lib = lib.display().to_string();
    sluice_snapshot!(test.command(["get-metadata", "--plugin", lib.as_str(), "."]));
}

#[test]
fn plugins_list_shows_built_ins_and_libraries_with_their_origin() {
    let test = templated_project();
    let home_plugins = test.sluice_home().join("plugins");
    std::fs::create_dir_all(&home_plugins).expect("mkdir");
    let lib = plugin_lib("sluice-functions-toml");
    std::fs::copy(&lib, home_plugins.join(lib.file_name().expect("file name"))).expect("copy");
    let output = test
        .command(["plugins", "list", "."])
        .output()
        .expect("run sluice plugins list");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // Built-ins come and go as sluice grows: check two, snapshot everything else.
    let built_in = |kind: &str, name: &str| {
        stdout.lines().any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols == [kind, name, "built-in"]
        })
    };
    assert!(
        built_in("reader", "fs") && built_in("builder", "finder"),
        "{stdout}"
    );
    // Column widths follow the longest name, built-ins included: compare columns, not spaces.
    let from_plugins: Vec<String> = stdout
        .lines()
        .filter(|l| !l.ends_with("built-in"))
        .map(|l| {
            let kind = l.split_whitespace().next().unwrap_or_default();
            if ["reader", "builder", "deployer"].contains(&kind) {
                l.split_whitespace().collect::<Vec<_>>().join("  ")
            } else {
                l.to_string()
            }
        })
        .collect();
    insta::assert_snapshot!(
        "plugins_list",
        common::redact(&from_plugins.join("\n"), &[])
    );
}

#[test]
fn sluice_build_uses_the_plugin_named_in_project_yml() {
    let test = templated_project();
    sluice_snapshot!(test.command(["build", "--json", "."]));
}

/// The deployed functions of the local namespace at `data_dir`, without the volatile
/// `deployer` annotation, and what invoking `invoke` with `params` answered.
fn deployed_entities(
    data_dir: &Path,
    invoke: &str,
    params: serde_json::Value,
) -> serde_json::Value {
    use serde_json::{Value, json};
    let server = sluice_local::EmbeddedServer::start(data_dir).expect("serve the local namespace");
    let client = sluice_openwhisk::Client::new(
        &server.apihost,
        server.auth(),
        &sluice_openwhisk::TransportOptions::default(),
    )
    .expect("a client");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (functions, answer) = runtime.block_on(async {
        let mut functions = Vec::new();
        for summary in client.functions(100, 0).await.expect("list functions") {
            let package = summary["namespace"]
                .as_str()
                .and_then(|ns| ns.split_once('/'))
                .map(|(_, p)| p.to_string());
            let name = summary["name"].as_str().unwrap_or_default();
            let qualified = match package {
                Some(p) => format!("{p}/{name}"),
                None => name.to_string(),
            };
            let f = client
                .function(&qualified, true)
                .await
                .expect("get a function");
            let annotations: Vec<Value> = f["annotations"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["key"] != "deployer")
                .cloned()
                .collect();
            functions.push(json!({
                "name": qualified,
                "kind": f["exec"]["kind"],
                "code": f["exec"]["code"],
                "annotations": annotations,
                "parameters": f["parameters"],
            }));
        }
        let options = sluice_openwhisk::InvokeOptions {
            blocking: true,
            timeout_ms: None,
        };
        let outcome = client
            .invoke(server.auth(), invoke, &params, &options)
            .await
            .expect("invoke");
        let answer = match outcome {
            sluice_openwhisk::InvokeOutcome::Finished { activation, .. } => {
                activation.result().clone()
            }
            other => json!(format!("{other:?}")),
        };
        (functions, answer)
    });
    let mut functions = functions;
    functions.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    json!({ "functions": functions, "invoked": { invoke: answer } })
}

#[test]
fn the_templated_example_deploys_to_the_embedded_namespace() {
    let test = templated_project();
    let port = vec![(
        r"127\.0\.0\.1:\d+".to_string(),
        "127.0.0.1:[PORT]".to_string(),
    )];
    // One build at a time, so the plugin's progress lines come in a stable order.
    sluice_snapshot!(
        filters = port,
        test.command(["deploy", "--build-jobs", "1", "."])
    );
    insta::assert_json_snapshot!(
        "templated_deployed_entities",
        deployed_entities(
            &test.local_dir(),
            "greetings/bonjour",
            serde_json::json!({})
        )
    );
}

#[test]
fn the_functions_toml_example_deploys_to_the_embedded_namespace() {
    let test = ProjectTest::from_dir("examples/toml-functions");
    let lib = test.temp().join("libsluice_functions_toml.so");
    std::fs::copy(plugin_lib("sluice-functions-toml"), &lib).expect("copy");
    let lib = lib.display().to_string();
    let port = vec![(
        r"127\.0\.0\.1:\d+".to_string(),
        "127.0.0.1:[PORT]".to_string(),
    )];
    sluice_snapshot!(
        filters = port,
        test.command(["deploy", "--plugin", lib.as_str(), "."])
    );
    insta::assert_json_snapshot!(
        "toml_functions_deployed_entities",
        deployed_entities(
            &test.local_dir(),
            "echo",
            serde_json::json!({"text": "from a plugin"})
        )
    );
}

#[test]
fn deploy_target_chooses_a_deployer_from_a_plugin() {
    let test = ProjectTest::from_dir("examples/hello");
    let lib = test.temp().join("libsluice_testing_manifest.so");
    std::fs::copy(plugin_lib("sluice-testing-manifest"), &lib).expect("copy");
    let lib = lib.display().to_string();
    let port = vec![(
        r"127\.0\.0\.1:\d+".to_string(),
        "127.0.0.1:[PORT]".to_string(),
    )];
    sluice_snapshot!(
        filters = port,
        test.command([
            "deploy",
            "--plugin",
            lib.as_str(),
            "--target",
            "manifest",
            "."
        ])
    );
    let manifest = std::fs::read_to_string(test.path().join(".deployed/manifest.json"))
        .expect("the plugin wrote its manifest");
    insta::assert_snapshot!("manifest_json", manifest);
}
