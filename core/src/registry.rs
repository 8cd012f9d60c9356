//! The plugins available to one run: built-ins registered by the CLI, shared-library plugins
//! registered by the loader.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::plugin::{Builder, Deployer, ProjectReader};
use crate::remote::RemoteBuilder;

/// Where a registered plugin came from, for `sluice plugins list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    /// A shared library at this path.
    Library(String),
}

/// Readers, builders and deployers in registration order.
#[derive(Default, Clone)]
pub struct Registry {
    readers: Vec<(Arc<dyn ProjectReader>, Origin)>,
    builders: Vec<(Arc<dyn Builder>, Origin)>,
    deployers: Vec<(Arc<dyn Deployer>, Origin)>,
    remote: Option<Arc<dyn RemoteBuilder>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field(
                "readers",
                &self
                    .readers
                    .iter()
                    .map(|(r, _)| r.name())
                    .collect::<Vec<_>>(),
            )
            .field(
                "builders",
                &self
                    .builders
                    .iter()
                    .map(|(b, _)| b.name())
                    .collect::<Vec<_>>(),
            )
            .field(
                "deployers",
                &self
                    .deployers
                    .iter()
                    .map(|(d, _)| d.name())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn check_unique(kind: &str, name: &str, taken: bool, replace: bool) -> Result<()> {
    if taken && !replace {
        return Err(Error::Usage {
            message: format!("a {kind} named '{name}' is already registered"),
            help: Some(format!(
                "a plugin cannot replace the built-in {kind} '{name}' unless you name it explicitly"
            )),
        });
    }
    Ok(())
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the builder of `remote` and `remote-default` functions (one per run).
    pub fn set_remote_builder(&mut self, builder: Arc<dyn RemoteBuilder>) {
        self.remote = Some(builder);
    }

    /// The remote builder, when one is registered.
    pub fn remote_builder(&self) -> Option<Arc<dyn RemoteBuilder>> {
        self.remote.clone()
    }

    /// Adds a reader. A later reader with the same name is refused unless `replace`.
    pub fn add_reader(
        &mut self,
        r: Arc<dyn ProjectReader>,
        origin: Origin,
        replace: bool,
    ) -> Result<()> {
        let taken = self.readers.iter().any(|(x, _)| x.name() == r.name());
        check_unique("reader", r.name(), taken, replace)?;
        self.readers.retain(|(x, _)| x.name() != r.name());
        // Plugins go first so that a location they claim is theirs.
        match origin {
            Origin::BuiltIn => self.readers.push((r, origin)),
            Origin::Library(_) => self.readers.insert(0, (r, origin)),
        }
        Ok(())
    }

    /// Adds a builder (see [`Registry::add_reader`] for `replace`).
    pub fn add_builder(
        &mut self,
        b: Arc<dyn Builder>,
        origin: Origin,
        replace: bool,
    ) -> Result<()> {
        let taken = self.builders.iter().any(|(x, _)| x.name() == b.name());
        check_unique("builder", b.name(), taken, replace)?;
        self.builders.retain(|(x, _)| x.name() != b.name());
        self.builders.push((b, origin));
        Ok(())
    }

    /// Adds a deployer (see [`Registry::add_reader`] for `replace`).
    pub fn add_deployer(
        &mut self,
        d: Arc<dyn Deployer>,
        origin: Origin,
        replace: bool,
    ) -> Result<()> {
        let taken = self
            .deployers
            .iter()
            .position(|(x, _)| x.name() == d.name());
        check_unique("deployer", d.name(), taken.is_some(), replace)?;
        // A replacement keeps its place, so replacing the default deployer replaces the default.
        match taken {
            Some(i) => self.deployers[i] = (d, origin),
            None => self.deployers.push((d, origin)),
        }
        Ok(())
    }

    /// The first reader that claims the location.
    pub fn reader_for(&self, location: &str) -> Result<Arc<dyn ProjectReader>> {
        self.readers
            .iter()
            .find(|(r, _)| r.claims(location))
            .map(|(r, _)| r.clone())
            .ok_or_else(|| {
                let path = std::path::Path::new(location);
                if !path.exists() {
                    Error::Usage {
                        message: format!("directory not found: '{location}'"),
                        help: Some(
                            "give the path of an existing project directory (it holds project.yml or packages/)"
                                .to_string(),
                        ),
                    }
                } else if !path.is_dir() {
                    Error::Usage {
                        message: format!("'{location}' is a file, not a project directory"),
                        help: Some("give the directory that holds the project".to_string()),
                    }
                } else {
                    Error::Usage {
                        message: format!("no reader can read the project '{location}'"),
                        help: Some("give the path of a project directory".to_string()),
                    }
                }
            })
    }

    /// The deployer called `name`, or the default one (the first registered) for `None`.
    pub fn deployer_or_default(&self, name: Option<&str>) -> Result<Arc<dyn Deployer>> {
        match name {
            Some(name) => self.deployer(name),
            None => self
                .deployers
                .first()
                .map(|(d, _)| d.clone())
                .ok_or_else(|| Error::usage("no deployer is registered")),
        }
    }

    /// A deployer by name.
    pub fn deployer(&self, name: &str) -> Result<Arc<dyn Deployer>> {
        self.deployers
            .iter()
            .find(|(d, _)| d.name() == name)
            .map(|(d, _)| d.clone())
            .ok_or_else(|| Error::Usage {
                message: format!("no deployer named '{name}'"),
                help: Some(format!(
                    "known deployers: {}",
                    self.deployers
                        .iter()
                        .map(|(d, _)| d.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            })
    }

    /// Builders in registration order.
    pub fn builders(&self) -> Vec<Arc<dyn Builder>> {
        self.builders.iter().map(|(b, _)| b.clone()).collect()
    }

    /// Every plugin with its kind, name and origin, for listing.
    pub fn describe(&self) -> Vec<(&'static str, String, Origin)> {
        let mut out = Vec::new();
        out.extend(
            self.readers
                .iter()
                .map(|(r, o)| ("reader", r.name().to_string(), o.clone())),
        );
        out.extend(
            self.builders
                .iter()
                .map(|(b, o)| ("builder", b.name().to_string(), o.clone())),
        );
        out.extend(
            self.deployers
                .iter()
                .map(|(d, o)| ("deployer", d.name().to_string(), o.clone())),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeployResponse, DeployStructure};
    use crate::plugin::{DeployContext, Target};

    struct Named(&'static str);

    #[async_trait::async_trait]
    impl Deployer for Named {
        fn name(&self) -> &str {
            self.0
        }
        async fn prepare(&self, _: &DeployContext) -> Result<Target> {
            Err(Error::usage("not used"))
        }
        async fn deploy(
            &self,
            _: &DeployContext,
            _: &Target,
            _: &DeployStructure,
        ) -> Result<DeployResponse> {
            Err(Error::usage("not used"))
        }
    }

    fn origin_of(r: &Registry, name: &str) -> Option<Origin> {
        r.deployers
            .iter()
            .find(|(d, _)| d.name() == name)
            .map(|(_, o)| o.clone())
    }

    #[test]
    fn the_default_deployer_is_the_first_and_a_replacement_keeps_its_place() -> Result<()> {
        let mut r = Registry::new();
        r.add_deployer(Arc::new(Named("openwhisk")), Origin::BuiltIn, false)?;
        r.add_deployer(Arc::new(Named("manifest")), Origin::BuiltIn, false)?;
        assert_eq!(r.deployer_or_default(None)?.name(), "openwhisk");
        assert_eq!(r.deployer_or_default(Some("manifest"))?.name(), "manifest");

        let lib = Origin::Library("libow.so".into());
        r.add_deployer(Arc::new(Named("openwhisk")), lib.clone(), true)?;
        assert_eq!(r.deployer_or_default(None)?.name(), "openwhisk");
        assert_eq!(origin_of(&r, "openwhisk"), Some(lib));

        let err = r
            .deployer_or_default(Some("nosuch"))
            .err()
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("no deployer named 'nosuch'"));
        assert!(Registry::new().deployer_or_default(None).is_err());
        Ok(())
    }
}
