//! Function parameters on the command line, for every command that sends them: `-P file` (a
//! JSON object) first, then `-p key value` pairs over it. A value that parses as JSON is JSON
//! (`-p n 3` is a number), anything else is a string.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::render::CliError;

/// The `-p`/`--param` and `-P`/`--param-file` flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ParamArgs {
    /// A parameter: `-p name World` (values that parse as JSON are JSON: `-p n 3`)
    #[arg(short = 'p', long = "param", num_args = 2, value_names = ["KEY", "VALUE"])]
    params: Vec<String>,
    /// A JSON file with an object of parameters (`-p` wins over it)
    #[arg(short = 'P', long = "param-file", value_name = "FILE")]
    param_file: Option<PathBuf>,
}

impl ParamArgs {
    /// The parameters as one JSON object.
    pub fn parameters(&self) -> Result<Value, CliError> {
        let mut params = match &self.param_file {
            Some(path) => from_file(path)?,
            None => Map::new(),
        };
        for pair in self.params.chunks(2) {
            if let [key, value] = pair {
                let v =
                    serde_json::from_str::<Value>(value).unwrap_or_else(|_| value.clone().into());
                params.insert(key.clone(), v);
            }
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
            params: ["name", "World", "n", "0", "list", "[1,2]"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            param_file: None,
        };
        assert_eq!(
            args.parameters().expect("params"),
            serde_json::json!({"name": "World", "n": 0, "list": [1, 2]})
        );
    }
}
