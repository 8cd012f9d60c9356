//! The JSON form of [`PackageSpec`]: camelCase, absent members skipped, and `functions`
//! present exactly when the original deployer would print it (its `actions` array existed).
//! Written by hand only because that one member depends on another field.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ActionSpec, BindingSpec, Dict, PackageSpec, WebSetting};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PackageOut<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    shared: Option<&'a bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    web: Option<&'a WebSetting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<&'a Dict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<&'a Dict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<&'a Dict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    binding: Option<&'a BindingSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deployed_during_build: Option<&'a bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    functions: Option<&'a [ActionSpec]>,
}

impl Serialize for PackageSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let listed = !(self.functions_absent && self.actions.is_empty());
        PackageOut {
            name: &self.name,
            shared: self.shared.as_ref(),
            web: self.web.as_ref(),
            environment: self.environment.as_ref(),
            parameters: self.parameters.as_ref(),
            annotations: self.annotations.as_ref(),
            binding: self.binding.as_ref(),
            deployed_during_build: self.deployed_during_build.as_ref(),
            functions: listed.then_some(self.actions.as_slice()),
        }
        .serialize(serializer)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PackageIn {
    name: String,
    #[serde(default)]
    shared: Option<bool>,
    #[serde(default)]
    web: Option<WebSetting>,
    #[serde(default)]
    environment: Option<Dict>,
    #[serde(default)]
    parameters: Option<Dict>,
    #[serde(default)]
    annotations: Option<Dict>,
    #[serde(default)]
    binding: Option<BindingSpec>,
    #[serde(default)]
    deployed_during_build: Option<bool>,
    #[serde(default, alias = "actions")]
    functions: Option<Vec<ActionSpec>>,
}

impl<'de> Deserialize<'de> for PackageSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let p = PackageIn::deserialize(deserializer)?;
        Ok(PackageSpec {
            name: p.name,
            shared: p.shared,
            web: p.web,
            environment: p.environment,
            parameters: p.parameters,
            annotations: p.annotations,
            binding: p.binding,
            deployed_during_build: p.deployed_during_build,
            functions_absent: p.functions.is_none(),
            actions: p.functions.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn functions_are_printed_unless_none_were_listed() -> serde_json::Result<()> {
        let listed = PackageSpec {
            name: "p".into(),
            ..PackageSpec::default()
        };
        assert_eq!(
            serde_json::to_value(&listed)?,
            json!({"name": "p", "functions": []})
        );
        let binding: PackageSpec = serde_json::from_value(
            json!({"name": "b", "binding": {"namespace": "n", "name": "x"}}),
        )?;
        assert!(binding.functions_absent);
        assert_eq!(
            serde_json::to_value(&binding)?,
            json!({"name": "b", "binding": {"namespace": "n", "name": "x"}})
        );
        let old: PackageSpec =
            serde_json::from_value(json!({"name": "o", "actions": [{"name": "a"}]}))?;
        assert!(!old.functions_absent);
        assert_eq!(old.actions[0].name, "a");
        Ok(())
    }
}
