//! `sluice functions list|get`: what is deployed in the namespace, with `--url` for a web
//! function's address and `--code` for its source.

use std::process::ExitCode;

use serde_json::Value;
use sluice_core::RuntimeTable;
use sluice_core::runtimes::family;

use super::connection::Connection;
use super::render::{CliError, print_json};
use super::table::Table;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// List the functions of the namespace, newest first
    List(ListArgs),
    /// Print one function
    Get(GetArgs),
    /// Run a function and print its result (the same as `sluice invoke`; doctl's
    /// `functions invoke`)
    Invoke(super::invoke::Args),
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// How many (1 to 200)
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=200))]
    limit: u32,
    #[command(flatten)]
    output: super::render::OutputArgs,
    #[command(flatten)]
    target: super::run_target::RunTargetArgs,
}

#[derive(Debug, clap::Args)]
struct GetArgs {
    /// The function: `pkg/name`, or `name`
    function: String,
    /// Print only the function's URL (its web address when it is a web function)
    #[arg(long, conflicts_with = "code")]
    url: bool,
    /// Print only the function's code (source text; zips are refused)
    #[arg(long)]
    code: bool,
    /// Show the values of parameters that hold secrets (named by the `sluice-secrets` annotation) instead of ****
    #[arg(long)]
    show_secrets: bool,
    #[command(flatten)]
    output: super::render::OutputArgs,
    #[command(flatten)]
    target: super::run_target::RunTargetArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    match args.command {
        Sub::List(a) => list(a),
        Sub::Get(a) => get(a),
        Sub::Invoke(a) => super::invoke::run(a),
    }
}

fn annotation<'a>(a: &'a Value, key: &str) -> Option<&'a Value> {
    a["annotations"]
        .as_array()?
        .iter()
        .find(|kv| kv["key"] == key)
        .map(|kv| &kv["value"])
}

/// `pkg/name` of a listed function (`namespace` is `ns` or `ns/pkg`).
fn qualified(a: &Value) -> String {
    let name = a["name"].as_str().unwrap_or("");
    match a["namespace"].as_str().and_then(|ns| ns.split_once('/')) {
        Some((_, pkg)) => format!("{pkg}/{name}"),
        None => name.to_string(),
    }
}

fn list(args: ListArgs) -> Result<ExitCode, CliError> {
    let conn = args.target.connect()?;
    let mut items = conn
        .runtime
        .block_on(conn.client.functions(args.limit, 0))
        .map_err(|e| conn.error(e))?;
    items.sort_by_key(qualified);
    if args.output.json() {
        print_json(&Value::Array(items))?;
        return Ok(ExitCode::SUCCESS);
    }
    let defaults = default_kinds(&conn);
    let mut table = Table::new(&["FUNCTION", "KIND", "VERSION", "WEB"]);
    for a in &items {
        let kind = annotation(a, "exec").and_then(Value::as_str).unwrap_or("-");
        let kind = shown_kind(kind, defaults.as_ref());
        let web = match annotation(a, "web-export") {
            Some(Value::Bool(true)) if annotation(a, "raw-http") == Some(&Value::Bool(true)) => {
                "raw"
            }
            Some(Value::Bool(true)) => "yes",
            _ => "no",
        };
        table.row([
            qualified(a).as_str(),
            kind.as_str(),
            a["version"].as_str().unwrap_or(""),
            web,
        ]);
    }
    table.print();
    Ok(ExitCode::SUCCESS)
}

/// The namespace's runtime table, when it publishes one: a function declared
/// `nodejs:default` is stored with the kind it resolved to, and the table says which that is.
fn default_kinds(conn: &Connection) -> Option<RuntimeTable> {
    let info = conn.runtime.block_on(conn.client.controller_info()).ok()?;
    RuntimeTable::from_controller_info(&info, &conn.apihost).ok()
}

/// `nodejs:18 (default)` for the family's default kind, so a function declared
/// `nodejs:default` is recognisable after the namespace resolved it.
fn shown_kind(kind: &str, table: Option<&RuntimeTable>) -> String {
    match table.and_then(|t| t.default_of(family(kind))) {
        Some(default) if default == kind => format!("{kind} (default)"),
        _ => kind.to_string(),
    }
}

fn get(args: GetArgs) -> Result<ExitCode, CliError> {
    let conn = args.target.connect()?;
    let function = conn
        .runtime
        .block_on(conn.client.function(&args.function, args.code))
        .map_err(|e| {
            if e.status() == Some(404) {
                CliError::msg(format!("function '{}' does not exist", args.function))
            } else {
                conn.error(e)
            }
        })?;
    if args.url {
        println!("{}", url_of(&conn, &function, &args.function));
        return Ok(ExitCode::SUCCESS);
    }
    if args.code && !args.output.json() {
        let exec = &function["exec"];
        if exec["binary"].as_bool() == Some(true) {
            return Err(CliError::msg(format!(
                "'{}' is deployed as a zip; its code is not text",
                args.function
            ))
            .with_help("use --code --json to get the base64 zip"));
        }
        match exec["code"].as_str() {
            Some(code) => {
                print!("{code}");
                if !code.ends_with('\n') {
                    println!();
                }
            }
            None => {
                return Err(CliError::msg(format!(
                    "'{}' has no code (it is a {})",
                    args.function,
                    exec["kind"].as_str().unwrap_or("function without code")
                )));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut function = function;
    if !args.show_secrets {
        super::secrets::mask_parameters(&mut function);
    }
    print_json(&function)?;
    Ok(ExitCode::SUCCESS)
}

/// Where `function` answers: its web address when it is a web function, else its REST URL.
fn url_of(conn: &Connection, function: &Value, asked: &str) -> String {
    let namespace = function["namespace"].as_str().unwrap_or("_");
    let (ns, pkg) = namespace.split_once('/').unwrap_or((namespace, "default"));
    let name = function["name"].as_str().unwrap_or(asked);
    // The local namespace's background server keeps its port, so its URL stays valid.
    let host = conn.apihost.trim_end_matches('/').to_string();
    if annotation(function, "web-export") == Some(&Value::Bool(true)) {
        format!("{host}/api/v1/web/{ns}/{pkg}/{name}")
    } else if pkg == "default" {
        format!("{host}/api/v1/namespaces/{ns}/actions/{name}")
    } else {
        format!("{host}/api/v1/namespaces/{ns}/actions/{pkg}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_include_the_package() {
        assert_eq!(
            qualified(&json!({"namespace": "local/hello", "name": "greet"})),
            "hello/greet"
        );
        assert_eq!(
            qualified(&json!({"namespace": "local", "name": "top"})),
            "top"
        );
    }

    #[test]
    fn the_default_kind_of_a_family_says_so() {
        let info = serde_json::json!({"runtimes": {"nodejs": [
            {"kind": "nodejs:14"}, {"kind": "nodejs:18", "default": true}
        ]}});
        let table = RuntimeTable::from_controller_info(&info, "h").ok();
        assert_eq!(
            shown_kind("nodejs:18", table.as_ref()),
            "nodejs:18 (default)"
        );
        assert_eq!(shown_kind("nodejs:14", table.as_ref()), "nodejs:14");
        assert_eq!(shown_kind("python:3.11", table.as_ref()), "python:3.11");
        assert_eq!(shown_kind("nodejs:18", None), "nodejs:18");
    }
}
