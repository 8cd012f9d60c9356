//! Function parameters on the command line, for every command that sends them: `-P file` (a
//! JSON object) first, then `-p key value` pairs (or doctl's `--param key:value`) over it. A
//! value that parses as JSON is JSON (`-p n 3` is a number), anything else is a string.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::render::CliError;

/// The `-p`/`--param` and `-P`/`--param-file` flags.
///
/// `clap::Args` is written out by hand: each `-p` takes one value (`name:World`) or two
/// (`name World`), and only the matches' occurrences keep them apart, which clap's derive
/// cannot express in clap 4.
#[derive(Debug, Clone, Default)]
pub struct ParamArgs {
    /// One entry per `-p`: `[key, value]` or `[key:value]`.
    params: Vec<Vec<String>>,
    param_file: Option<PathBuf>,
}

const PARAM: &str = "param";
const PARAM_FILE: &str = "param_file";

impl clap::FromArgMatches for ParamArgs {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let params = m
            .get_occurrences::<String>(PARAM)
            .map(|o| o.map(|values| values.cloned().collect()).collect())
            .unwrap_or_default();
        Ok(ParamArgs {
            params,
            param_file: m.get_one::<PathBuf>(PARAM_FILE).cloned(),
        })
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl clap::Args for ParamArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.arg(
            clap::Arg::new(PARAM)
                .short('p')
                .long("param")
                .num_args(1..=2)
                .action(clap::ArgAction::Append)
                .value_names(["KEY", "VALUE"])
                .help(
                    "A parameter: `-p name World`, or doctl's `--param name:World` (values that \
                     parse as JSON are JSON: `-p n 3`); put the one-value form after the \
                     function's name",
                ),
        )
        .arg(
            clap::Arg::new(PARAM_FILE)
                .short('P')
                .long("param-file")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("A JSON file with an object of parameters (`-p` wins over it)"),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl ParamArgs {
    /// The parameters as one JSON object.
    pub fn parameters(&self) -> Result<Value, CliError> {
        let mut params = match &self.param_file {
            Some(path) => from_file(path)?,
            None => Map::new(),
        };
        for given in &self.params {
            let (key, value) = match given.as_slice() {
                [key, value] => (key.as_str(), value.as_str()),
                [one] => one.split_once(':').ok_or_else(|| {
                    CliError::msg(format!("the parameter '{one}' has no value"))
                        .with_help(format!("write -p {one} VALUE or --param {one}:VALUE"))
                })?,
                _ => continue,
            };
            let v = serde_json::from_str::<Value>(value).unwrap_or_else(|_| value.into());
            params.insert(key.to_string(), v);
        }
        Ok(Value::Object(params))
    }
}

fn from_file(path: &PathBuf) -> Result<Map<String, Value>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::msg(format!("cannot read {}: {e}", path.display())))?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(CliError::msg(format!(
            "{} must hold a JSON object of parameters",
            path.display()
        ))),
        Err(e) => Err(
            CliError::msg(format!("{} is not valid JSON: {e}", path.display()))
                .with_help("write the parameters as a JSON object: {\"name\": \"World\"}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_parse_as_json_when_they_can() {
        let args = ParamArgs {
            params: [["name", "World"], ["n", "0"], ["list", "[1,2]"]]
                .iter()
                .map(|p| p.iter().map(|s| s.to_string()).collect())
                .collect(),
            param_file: None,
        };
        assert_eq!(
            args.parameters().expect("params"),
            serde_json::json!({"name": "World", "n": 0, "list": [1, 2]})
        );
    }

    #[test]
    fn doctl_pairs_split_at_the_first_colon() {
        let args = ParamArgs {
            params: vec![
                vec!["name:World".to_string()],
                vec!["url:http://x".to_string()],
                vec!["n:3".to_string()],
            ],
            param_file: None,
        };
        assert_eq!(
            args.parameters().expect("params"),
            serde_json::json!({"name": "World", "url": "http://x", "n": 3})
        );
        let lonely = ParamArgs {
            params: vec![vec!["name".to_string()]],
            param_file: None,
        };
        assert!(lonely.parameters().is_err());
    }
}
