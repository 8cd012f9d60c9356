//! function-template: an example third-party builder plugin for sluice.
//!
//! A function directory that holds a `function.toml` is built by rendering a Jinja template
//! (with [minijinja]) into one source file. Many functions can then share one template and
//! differ only by their values — a greeter per language, a webhook per provider, a proxy
//! per upstream — without copying code around:
//!
//! ```toml
//! # packages/greetings/hello/function.toml
//! template = "templates/greeter.js.j2"   # project-relative
//! runtime = "nodejs:18"                  # optional; else from the output's extension
//!
//! [values]
//! greeting = "Hello"
//! ```
//!
//! The template sees the `[values]` table, plus `function` (`name`, `package`) and `env`
//! (the `--build-env` entries). In `.js`, `.json` and `.yaml` templates every `{{ value }}`
//! is written as a JSON literal (minijinja's auto-escaping), so a value can never break out
//! of the code around it; `{{ value | safe }}` writes it raw. `{% include %}` and `{% import %}` resolve next to the
//! template. The rendered file goes to `.deployed/function-template/<package>/<name>.<ext>`
//! (outside the sources, so a re-read sees the same project), where `<ext>` is the
//! template's extension without `.j2`/`.jinja`, or `output` from function.toml.
//!
//! This crate uses only the public plugin SDK: an ordinary [`Builder`] implementation and
//! one `export_plugin!` line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sluice_plugin_abi::sluice_core::{
    self, Artifact, BuildContext, BuildJob, BuildTarget, Builder, Detection, Error, Result,
};

/// The build kind this plugin records in the plan (`build` of an action).
pub const KIND: &str = "function.toml";

/// Above npm (20) and below build.sh (30): a directory with both a template and a script
/// is the script's.
pub const PRIORITY: i32 = 25;

/// What `function.toml` says.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionToml {
    /// The template, relative to the project.
    pub template: String,
    /// The output file name (default: the template's name without `.j2`/`.jinja`).
    pub output: Option<String>,
    pub runtime: Option<String>,
    pub main: Option<String>,
    #[serde(default)]
    pub values: BTreeMap<String, toml::Value>,
}

/// The builder.
#[derive(Debug, Default)]
pub struct TemplateBuilder;

impl Builder for TemplateBuilder {
    fn name(&self) -> &str {
        "function-template"
    }

    fn detect(&self, target: &BuildTarget<'_>) -> Option<Detection> {
        (target.action.is_some() && target.has_file("function.toml")).then(|| Detection {
            kind: KIND.to_string(),
            priority: PRIORITY,
        })
    }

    fn build(&self, job: &BuildJob<'_>, ctx: &BuildContext) -> Result<Option<Artifact>> {
        let BuildJob::Action { package, action } = job else {
            return Ok(None);
        };
        let entity = format!("action '{}'", action.qualified_name(package));
        let fail = |message: String| Error::Build {
            entity: entity.clone(),
            message,
            output: None,
        };
        let dir = ctx.resolve(action.file.as_deref().unwrap_or_default());
        let spec_path = dir.join("function.toml");
        let spec = read_spec(&spec_path, &ctx.project_dir)?;

        let template_path = ctx.resolve(&spec.template);
        let template_name = file_name(&template_path);
        let output = spec
            .output
            .clone()
            .unwrap_or_else(|| strip_template_suffix(&template_name).to_string());
        let ext = Path::new(&output)
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();

        let mut env = minijinja::Environment::new();
        if let Some(parent) = template_path.parent() {
            env.set_loader(minijinja::path_loader(parent));
        }
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let template = env.get_template(&template_name).map_err(|e| {
            fail(format!(
                "cannot load the template '{}' named in {}: {}",
                spec.template,
                display(&spec_path, &ctx.project_dir),
                describe(&e)
            ))
        })?;
        let mut values: BTreeMap<String, minijinja::Value> = spec
            .values
            .iter()
            .map(|(k, v)| (k.clone(), minijinja::Value::from_serialize(v)))
            .collect();
        values.insert(
            "function".into(),
            minijinja::context! { name => action.name.clone(), package => package.to_string() },
        );
        values.insert(
            "env".into(),
            minijinja::Value::from_serialize(&ctx.build_env),
        );
        let code = template.render(&values).map_err(|e| {
            fail(format!(
                "cannot render the template '{}' for {}: {}",
                spec.template,
                display(&spec_path, &ctx.project_dir),
                describe(&e)
            ))
        })?;

        let rel_out = format!(
            ".deployed/function-template/{package}/{}.{ext}",
            action.name
        );
        let out_path = ctx.project_dir.join(&rel_out);
        write(&out_path, code.as_bytes()).map_err(|e| Error::io(&out_path, e))?;
        ctx.feedback.progress(&format!(
            "Rendered {} from {}",
            action.qualified_name(package),
            spec.template
        ));

        let runtime = spec
            .runtime
            .or_else(|| action.runtime.clone())
            .or_else(|| sluice_core::runtimes::runtime_for_extension(&ext))
            .map(|r| ctx.runtimes.canonical(&r).to_string());
        Ok(Some(Artifact {
            file: rel_out,
            runtime,
            binary: false,
            zipped: false,
            main: spec.main,
            status: Default::default(),
        }))
    }
}

fn read_spec(path: &Path, project_dir: &Path) -> Result<FunctionToml> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    toml::from_str(&text).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|span| line_and_column(&text, span.start))
            .unzip();
        Error::Config {
            file: display(path, project_dir),
            line,
            column,
            message: e.message().to_string(),
        }
    })
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn display(path: &Path, project_dir: &Path) -> String {
    path.strip_prefix(project_dir)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn strip_template_suffix(name: &str) -> &str {
    name.strip_suffix(".j2")
        .or_else(|| name.strip_suffix(".jinja"))
        .unwrap_or(name)
}

/// minijinja errors carry their detail (the template line) in `detail` and the cause chain.
fn describe(e: &minijinja::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// Writes atomically, so a concurrent deploy never reads half a file.
fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().map(PathBuf::from).unwrap_or_default();
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!(".{}.tmp", file_name(path)));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

sluice_plugin_abi::export_plugin! {
    name: "function-template",
    version: env!("CARGO_PKG_VERSION"),
    builder: TemplateBuilder,
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::{ActionSpec, Flags};

    fn project(spec: &str, template: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("packages/p/hello");
        std::fs::create_dir_all(&f).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("templates")).expect("mkdir");
        std::fs::write(f.join("function.toml"), spec).expect("write");
        std::fs::write(dir.path().join("templates/t.js.j2"), template).expect("write");
        dir
    }

    fn build(dir: &Path) -> Result<Option<Artifact>> {
        let action = ActionSpec {
            name: "hello".into(),
            file: Some("packages/p/hello".into()),
            ..Default::default()
        };
        let ctx = BuildContext::new(dir, Flags::default());
        TemplateBuilder.build(
            &BuildJob::Action {
                package: "p",
                action: &action,
            },
            &ctx,
        )
    }

    #[test]
    fn renders_values_and_names() {
        let dir = project(
            "template = \"templates/t.js.j2\"\n[values]\ngreeting = \"Hi\"\n",
            "// {{ function.package | safe }}/{{ function.name | safe }}\nconst g = {{ greeting }};\n",
        );
        let artifact = build(dir.path()).expect("builds").expect("artifact");
        assert_eq!(artifact.file, ".deployed/function-template/p/hello.js");
        assert_eq!(artifact.runtime.as_deref(), Some("nodejs:14"));
        let code = std::fs::read_to_string(dir.path().join(&artifact.file)).expect("written");
        assert_eq!(code, "// p/hello\nconst g = \"Hi\";");
    }

    #[test]
    fn toml_errors_name_file_and_line() {
        let dir = project("template = \"t\"\nbogus = 1\n", "");
        let err = build(dir.path()).expect_err("fails");
        assert_eq!(
            err.file().as_deref(),
            Some("packages/p/hello/function.toml")
        );
        assert_eq!(err.line(), Some(2));
    }

    #[test]
    fn an_undefined_value_is_a_build_error() {
        let dir = project("template = \"templates/t.js.j2\"\n", "{{ missing }}");
        let err = build(dir.path()).expect_err("fails");
        assert!(matches!(err, Error::Build { .. }), "{err:?}");
        assert!(err.to_string().contains("undefined"), "{err}");
    }
}
