//! Finding, loading, checking and registering plugin libraries.
//!
//! A library is opened once per process (deduplicated by canonical path) and never closed:
//! the [`libloading::Library`] is leaked on purpose. Unloading a Rust `cdylib` is not safe in
//! practice — its thread-local destructors, threads it started, and `'static` data the host
//! copied pointers from (names, the function table) would dangle — and a deploy is a short
//! process, so keeping the mapping costs nothing.
//!
//! Because opening a library runs its constructors, a project's own libraries (`plugins:`
//! in project.yml) are checked against the trust records ([`crate::trust`]) *before* they
//! are opened; an untrusted one is refused with the command that trusts it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sluice_core::{
    Error, Feedback, Origin, ProjectManifest, ReadContext, Registry, Result, Silent,
};

use crate::abi::{
    ABI_VERSION, ENTRY_SYMBOL, EntryFn, FunctionTable, PLUGIN_API_VERSION, PluginDeclaration,
    capability,
};
use crate::proxy::{PluginBuilder, PluginDeployer, PluginHandle, PluginReader};
use crate::trust::{self, ProjectTrust};
use crate::wire::{Description, Empty};

/// Where a plugin was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PluginSource {
    /// `$SLUICE_HOME/plugins/`.
    Home,
    /// `--plugin PATH`.
    CommandLine,
    /// `plugins:` in project.yml.
    Project,
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PluginSource::Home => "home",
            PluginSource::CommandLine => "--plugin",
            PluginSource::Project => "project.yml",
        })
    }
}

/// One plugin to load: `[NAME=]PATH`. With `NAME=`, the user names the registered reader,
/// builder or deployer this plugin may replace (a built-in, usually); without it, a name
/// clash is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSpec {
    pub path: PathBuf,
    pub replaces: Option<String>,
    pub source: PluginSource,
}

impl PluginSpec {
    /// Parses `[NAME=]PATH`; a relative path is taken from `base` (the project directory for
    /// project.yml entries, the current directory for `--plugin`).
    pub fn parse(text: &str, base: Option<&Path>, source: PluginSource) -> Self {
        let (replaces, path) = match text.split_once('=') {
            Some((name, path))
                if !name.is_empty()
                    && !path.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) =>
            {
                (Some(name.to_string()), path)
            }
            _ => (None, text),
        };
        let path = Path::new(path);
        let path = match base {
            Some(base) if path.is_relative() => base.join(path),
            _ => path.to_path_buf(),
        };
        PluginSpec {
            path,
            replaces,
            source,
        }
    }
}

/// The libraries in `<home>/plugins/` (`.so`, `.dylib`, `.dll`), sorted by name.
pub fn home_plugins(home: &Path) -> Vec<PluginSpec> {
    let Ok(entries) = std::fs::read_dir(home.join("plugins")) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|x| x == "so" || x == "dylib" || x == "dll")
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| PluginSpec {
            path,
            replaces: None,
            source: PluginSource::Home,
        })
        .collect()
}

/// What was loaded, for logs and `sluice plugins list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedPlugin {
    pub name: String,
    pub version: String,
    pub api_version: String,
    pub abi_version: u32,
    /// The canonical path of the library.
    pub path: PathBuf,
    pub source: PluginSource,
    pub reader: Option<String>,
    pub builder: Option<String>,
    pub deployer: Option<String>,
}

/// Libraries opened by this process, by canonical path.
static OPENED: Mutex<BTreeMap<PathBuf, (&'static PluginHandle, Description)>> =
    Mutex::new(BTreeMap::new());

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn refuse(path: &Path, message: impl Into<String>) -> Error {
    Error::Plugin {
        plugin: display_name(path),
        message: format!("{} ({})", message.into(), path.display()),
    }
}

/// Reads a declared string.
fn declared_str(path: &Path, what: &str, s: crate::abi::AbiStr) -> Result<String> {
    // SAFETY: declaration strings point to static data of the loaded library, which is
    // never unloaded.
    let bytes = unsafe { s.as_bytes() };
    String::from_utf8(bytes.to_vec())
        .map_err(|_| refuse(path, format!("its declared {what} is not UTF-8")))
}

/// Opens a library (once per process) and checks its declaration.
fn open(path: &Path) -> Result<(&'static PluginHandle, Description)> {
    let canonical = path
        .canonicalize()
        .map_err(|e| refuse(path, format!("cannot find the plugin library: {e}")))?;
    let mut opened = OPENED
        .lock()
        .map_err(|_| refuse(path, "the plugin table is poisoned"))?;
    if let Some(found) = opened.get(&canonical) {
        return Ok(found.clone());
    }

    // SAFETY: loading a library runs its initialisers; the user chose to trust this plugin.
    let library = unsafe { libloading::Library::new(&canonical) }
        .map_err(|e| refuse(&canonical, format!("cannot load the library: {e}")))?;
    // SAFETY: the symbol's type is the documented entry type; a library that exports the
    // name with another type breaks the ABI contract.
    let entry: EntryFn = unsafe { library.get::<EntryFn>(ENTRY_SYMBOL.as_bytes()) }
        .map(|symbol| *symbol)
        .map_err(|_| {
            refuse(
                &canonical,
                format!("not a sluice plugin: it exports no '{ENTRY_SYMBOL}' symbol (build it with sluice_plugin_abi::export_plugin!)"),
            )
        })?;
    // Never unloaded: see the module documentation.
    std::mem::forget(library);
    let found = adopt(canonical.clone(), entry)?;
    opened.insert(canonical, found.clone());
    Ok(found)
}

/// Checks a declaration reached through `entry` and asks the plugin what it provides.
fn adopt(canonical: PathBuf, entry: EntryFn) -> Result<(&'static PluginHandle, Description)> {
    let declaration = entry();
    if declaration.is_null() {
        return Err(refuse(
            &canonical,
            format!("its '{ENTRY_SYMBOL}' returned no declaration"),
        ));
    }
    // SAFETY: the first field of every ABI version's declaration is the u32 ABI version.
    let abi_version = unsafe { std::ptr::read(declaration.cast::<u32>()) };
    if abi_version != ABI_VERSION {
        return Err(refuse(
            &canonical,
            format!(
                "it was built for plugin ABI version {abi_version}, but this sluice speaks ABI version {ABI_VERSION}; rebuild the plugin against sluice-plugin-abi {PLUGIN_API_VERSION}"
            ),
        ));
    }
    // SAFETY: the ABI version matches, so the declaration has this layout and static lifetime.
    let declaration: &'static PluginDeclaration = unsafe { &*declaration };
    let name = declared_str(&canonical, "name", declaration.name)?;
    if name.is_empty() {
        return Err(refuse(&canonical, "it declares an empty name"));
    }
    let version = declared_str(&canonical, "version", declaration.version)?;
    let api_version = declared_str(&canonical, "plugin API version", declaration.api_version)?;
    check_api_version(&canonical, &name, &api_version)?;
    let functions = copy_functions(&canonical, declaration.functions)?;

    let handle: &'static PluginHandle = Box::leak(Box::new(PluginHandle {
        name,
        version,
        api_version,
        abi_version,
        capabilities: declaration.capabilities,
        path: canonical.clone(),
        functions,
    }));
    let description: Description = handle.call(
        "describe",
        handle.functions.describe,
        &Empty {},
        Arc::new(Silent),
    )?;
    check_description(handle, &description)?;
    tracing::info!(
        path = %canonical.display(),
        name = %handle.name,
        version = %handle.version,
        api = %handle.api_version,
        abi = handle.abi_version,
        "loaded plugin"
    );
    Ok((handle, description))
}

fn check_api_version(path: &Path, name: &str, api_version: &str) -> Result<()> {
    let host = semver::Version::parse(PLUGIN_API_VERSION).map_err(|e| {
        refuse(
            path,
            format!("this sluice's plugin API version is invalid: {e}"),
        )
    })?;
    let wanted =
        semver::VersionReq::parse(&format!("^{api_version}")).map_err(|e| Error::Plugin {
            plugin: name.to_string(),
            message: format!("its plugin API version '{api_version}' is not semver: {e}"),
        })?;
    if !wanted.matches(&host) {
        return Err(Error::Plugin {
            plugin: name.to_string(),
            message: format!(
                "it needs plugin API ^{api_version}, but this sluice provides {PLUGIN_API_VERSION}; rebuild it against sluice-plugin-abi {PLUGIN_API_VERSION} ({})",
                path.display()
            ),
        });
    }
    Ok(())
}

/// Copies the plugin's function table, as much of it as both sides know.
fn copy_functions(path: &Path, table: *const FunctionTable) -> Result<FunctionTable> {
    if table.is_null() {
        return Err(refuse(path, "it declares no function table"));
    }
    // SAFETY: every ABI-1 table starts with its size as a usize.
    let declared = unsafe { std::ptr::read(table.cast::<usize>()) };
    if declared < FunctionTable::MIN_SIZE || declared % std::mem::align_of::<usize>() != 0 {
        return Err(refuse(
            path,
            format!("its function table has an invalid size ({declared} bytes)"),
        ));
    }
    let mut copy = FunctionTable::empty();
    let n = declared.min(std::mem::size_of::<FunctionTable>());
    // SAFETY: the plugin's table has `declared` >= n readable bytes, laid out as the prefix
    // of ours (append-only rule); members past `n` stay `None`.
    unsafe {
        std::ptr::copy_nonoverlapping(
            table.cast::<u8>(),
            (&mut copy as *mut FunctionTable).cast::<u8>(),
            n,
        );
    }
    copy.size = declared;
    Ok(copy)
}

fn check_description(handle: &PluginHandle, d: &Description) -> Result<()> {
    let caps = handle.capabilities;
    for (bit, name, what) in [
        (capability::READER, &d.reader, "reader"),
        (capability::BUILDER, &d.builder, "builder"),
        (capability::DEPLOYER, &d.deployer, "deployer"),
    ] {
        if (caps & bit != 0) != name.is_some() {
            return Err(Error::Plugin {
                plugin: handle.name.clone(),
                message: format!("its capabilities and its description disagree about the {what}"),
            });
        }
    }
    if caps & capability::ALL == 0 {
        return Err(Error::Plugin {
            plugin: handle.name.clone(),
            message: "it provides no reader, builder or deployer this sluice knows".into(),
        });
    }
    Ok(())
}

/// Loads the plugins (each library once) and registers what they provide. A plugin may add
/// readers, builders and deployers; it replaces an existing one of the same name only when
/// the spec names it (`NAME=PATH`). Plugins already registered in `registry` from the same
/// library are skipped.
pub fn load_into(
    registry: &mut Registry,
    specs: &[PluginSpec],
    feedback: &dyn Feedback,
) -> Result<Vec<LoadedPlugin>> {
    let mut loaded: Vec<LoadedPlugin> = Vec::new();
    for spec in specs {
        let (handle, description) = open(&spec.path)?;
        if loaded.iter().any(|l| l.path == handle.path) {
            continue;
        }
        loaded.push(register(registry, spec, handle, &description, feedback)?);
    }
    Ok(loaded)
}

/// Registers a plugin that is linked into the host itself, through the same ABI and checks
/// as a library (its entry function instead of a path). Tests and benchmarks use it to
/// measure and exercise the boundary without a build step; `label` stands in for the path.
pub fn load_linked(
    registry: &mut Registry,
    entry: EntryFn,
    label: &str,
    feedback: &dyn Feedback,
) -> Result<LoadedPlugin> {
    let key = PathBuf::from(format!("<linked:{label}>"));
    let found = {
        let mut opened = OPENED
            .lock()
            .map_err(|_| refuse(&key, "the plugin table is poisoned"))?;
        match opened.get(&key) {
            Some(found) => found.clone(),
            None => {
                let found = adopt(key.clone(), entry)?;
                opened.insert(key.clone(), found.clone());
                found
            }
        }
    };
    let spec = PluginSpec {
        path: key,
        replaces: None,
        source: PluginSource::CommandLine,
    };
    register(registry, &spec, found.0, &found.1, feedback)
}

fn register(
    registry: &mut Registry,
    spec: &PluginSpec,
    handle: &'static PluginHandle,
    description: &Description,
    feedback: &dyn Feedback,
) -> Result<LoadedPlugin> {
    let origin = Origin::Library(handle.path.display().to_string());
    let already: Vec<(&'static str, String)> = registry
        .describe()
        .into_iter()
        .filter(|(_, _, o)| *o == origin)
        .map(|(kind, name, _)| (kind, name))
        .collect();
    let register_one = |kind: &'static str,
                        name: &Option<String>,
                        add: &mut dyn FnMut(String, bool) -> Result<()>|
     -> Result<()> {
        let Some(name) = name else { return Ok(()) };
        if already.iter().any(|(k, n)| *k == kind && n == name) {
            return Ok(());
        }
        let replace = spec.replaces.as_deref() == Some(name.as_str());
        add(name.clone(), replace).map_err(|e| Error::Plugin {
            plugin: handle.name.clone(),
            message: format!(
                "{e}; to replace it, name it: --plugin {name}={} (or '{name}=…' in project.yml plugins)",
                spec.path.display()
            ),
        })
    };
    register_one("reader", &description.reader, &mut |name, replace| {
        registry.add_reader(
            Arc::new(PluginReader {
                plugin: handle,
                name,
            }),
            origin.clone(),
            replace,
        )
    })?;
    register_one("builder", &description.builder, &mut |name, replace| {
        registry.add_builder(
            Arc::new(PluginBuilder {
                plugin: handle,
                name,
            }),
            origin.clone(),
            replace,
        )
    })?;
    register_one("deployer", &description.deployer, &mut |name, replace| {
        registry.add_deployer(
            Arc::new(PluginDeployer {
                plugin: handle,
                name,
            }),
            origin.clone(),
            replace,
        )
    })?;
    if let Some(named) = &spec.replaces
        && ![
            &description.reader,
            &description.builder,
            &description.deployer,
        ]
        .iter()
        .any(|n| n.as_deref() == Some(named.as_str()))
    {
        feedback.warn(&format!(
            "plugin '{}' provides nothing named '{named}', so it replaces nothing",
            handle.name
        ));
    }
    Ok(LoadedPlugin {
        name: handle.name.clone(),
        version: handle.version.clone(),
        api_version: handle.api_version.clone(),
        abi_version: handle.abi_version,
        path: handle.path.clone(),
        source: spec.source,
        reader: description.reader.clone(),
        builder: description.builder.clone(),
        deployer: description.deployer.clone(),
    })
}

/// The plugins that do not depend on a project: those installed in `<home>/plugins/`
/// (`ctx.home`), then those given with `--plugin` (`cli`, relative to the current directory).
/// Call it first: one of them may be the reader that reads the project's manifest.
pub fn load_configured(
    registry: &mut Registry,
    cli: &[String],
    ctx: &ReadContext,
) -> Result<Vec<LoadedPlugin>> {
    let mut specs = ctx.home.as_deref().map(home_plugins).unwrap_or_default();
    specs.extend(
        cli.iter()
            .map(|c| PluginSpec::parse(c, None, PluginSource::CommandLine)),
    );
    load_into(registry, &specs, ctx.feedback.as_ref())
}

/// A project library that was not loaded, because it is not trusted (or changed since).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedPlugin {
    /// The library as project.yml names it (resolved against the project).
    pub path: PathBuf,
    /// The refusal, with the command that trusts it.
    pub reason: String,
}

/// Whether this process opened the library already (from home or `--plugin`, which are
/// trusted by where they come from).
fn already_open(path: &Path) -> bool {
    let Ok(canonical) = path.canonicalize() else {
        return false;
    };
    OPENED
        .lock()
        .map(|opened| opened.contains_key(&canonical))
        .unwrap_or(false)
}

/// Refused project libraries, each with its refusal.
type Refusals = Vec<(PathBuf, Error)>;

/// Splits the project's specs into those that may be opened and the refused ones.
fn vet(specs: Vec<PluginSpec>, trust: &ProjectTrust) -> Result<(Vec<PluginSpec>, Refusals)> {
    let mut allowed = Vec::new();
    let mut refused = Vec::new();
    for spec in specs {
        if already_open(&spec.path) {
            allowed.push(spec);
            continue;
        }
        match trust::check(&spec.path, trust) {
            Ok(()) => allowed.push(spec),
            Err(e @ Error::Plugin { .. }) => refused.push((spec.path.clone(), e)),
            Err(e) => return Err(e),
        }
    }
    Ok((allowed, refused))
}

fn listed_specs(project_dir: &Path, manifest: &ProjectManifest) -> Vec<PluginSpec> {
    manifest
        .plugins
        .iter()
        .map(|entry| PluginSpec::parse(entry, Some(project_dir), PluginSource::Project))
        .collect()
}

/// The plugins a project lists under `plugins:`, from its already-read manifest; relative
/// entries are taken from `project_dir` (the location as given). Libraries already loaded
/// (by [`load_configured`]) are not loaded again, nor returned again. A library `trust`
/// does not allow is refused before it is opened, and nothing of the project is loaded.
pub fn load_listed(
    registry: &mut Registry,
    project_dir: &Path,
    manifest: &ProjectManifest,
    feedback: &dyn Feedback,
    trust: &ProjectTrust,
) -> Result<Vec<LoadedPlugin>> {
    let (allowed, refused) = vet(listed_specs(project_dir, manifest), trust)?;
    if let Some((_, e)) = refused.into_iter().next() {
        return Err(e);
    }
    load_into(registry, &allowed, feedback)
}

/// [`load_configured`], then the project's manifest (read once, by the reader that claims
/// `location`), then [`load_listed`]. Errors are returned, not swallowed: a broken
/// `project.yml` is reported here with its file and line, as the full read would. A location
/// no reader claims gives no project plugins (the read that follows reports it).
///
/// Kept for callers that do not need the manifest themselves; a caller that also wants
/// `hooks:` should call the three steps itself, so the manifest is read once.
pub fn load_for_project(
    registry: &mut Registry,
    cli: &[String],
    location: Option<&str>,
    ctx: &ReadContext,
    trust: &ProjectTrust,
) -> Result<Vec<LoadedPlugin>> {
    let (loaded, refused) = load_project(registry, cli, location, ctx, trust)?;
    match refused.into_iter().next() {
        Some((_, e)) => Err(e),
        None => Ok(loaded),
    }
}

/// [`load_for_project`] for listings: untrusted project libraries are returned as
/// [`RefusedPlugin`]s (still unopened) instead of failing the call.
pub fn load_for_project_listing(
    registry: &mut Registry,
    cli: &[String],
    location: Option<&str>,
    ctx: &ReadContext,
    trust: &ProjectTrust,
) -> Result<(Vec<LoadedPlugin>, Vec<RefusedPlugin>)> {
    let (loaded, refused) = load_project(registry, cli, location, ctx, trust)?;
    let refused = refused
        .into_iter()
        .map(|(path, e)| RefusedPlugin {
            path,
            reason: e.to_string(),
        })
        .collect();
    Ok((loaded, refused))
}

fn load_project(
    registry: &mut Registry,
    cli: &[String],
    location: Option<&str>,
    ctx: &ReadContext,
    trust: &ProjectTrust,
) -> Result<(Vec<LoadedPlugin>, Refusals)> {
    let mut loaded = load_configured(registry, cli, ctx)?;
    let Some(location) = location else {
        return Ok((loaded, Vec::new()));
    };
    let Ok(reader) = registry.reader_for(location) else {
        return Ok((loaded, Vec::new()));
    };
    let mut peek = ctx.clone();
    peek.feedback = Arc::new(Silent);
    let manifest = reader.manifest(location, &peek)?;
    let (allowed, refused) = vet(listed_specs(Path::new(location), &manifest), trust)?;
    if !refused.is_empty() {
        // Nothing of an incompletely trusted project is loaded.
        return Ok((loaded, refused));
    }
    for l in load_into(registry, &allowed, ctx.feedback.as_ref())? {
        if !loaded.iter().any(|x| x.path == l.path) {
            loaded.push(l);
        }
    }
    Ok((loaded, refused))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_names_and_resolve_relative_paths() {
        let base = Path::new("/proj");
        let s = PluginSpec::parse("plugins/libx.so", Some(base), PluginSource::Project);
        assert_eq!(s.path, PathBuf::from("/proj/plugins/libx.so"));
        assert_eq!(s.replaces, None);
        let s = PluginSpec::parse("npm=/abs/libx.so", Some(base), PluginSource::Project);
        assert_eq!(s.path, PathBuf::from("/abs/libx.so"));
        assert_eq!(s.replaces.as_deref(), Some("npm"));
        // An '=' inside a path is not a name.
        let s = PluginSpec::parse("./a=b/libx.so", None, PluginSource::CommandLine);
        assert_eq!(s.path, PathBuf::from("./a=b/libx.so"));
        assert_eq!(s.replaces, None);
    }

    #[test]
    fn plugin_api_versions_are_caret_matched() {
        let path = Path::new("/p/libx.so");
        // This crate is 0.2.x: plugins built against 0.2.0 (or this very version) load; 0.1
        // plugins (which planned builds through the host's `detect`) must be rebuilt.
        assert!(check_api_version(path, "x", "0.2.0").is_ok());
        assert!(check_api_version(path, "x", PLUGIN_API_VERSION).is_ok());
        for newer_or_other in ["0.1.0", "0.3.0", "1.0.0", "0.2.99"] {
            let err = check_api_version(path, "x", newer_or_other).expect_err(newer_or_other);
            assert!(
                err.to_string().starts_with(&format!(
                    "plugin 'x': it needs plugin API ^{newer_or_other}"
                )),
                "{err}"
            );
        }
        assert!(check_api_version(path, "x", "not a version").is_err());
    }

    #[test]
    fn a_missing_library_is_a_plugin_error_naming_it() {
        let err = open(Path::new("/nonexistent/libnothing.so")).expect_err("must fail");
        let text = err.to_string();
        assert!(
            text.starts_with("plugin 'libnothing.so': cannot find the plugin library"),
            "{text}"
        );
    }

    #[test]
    fn home_plugins_lists_only_libraries() -> std::io::Result<()> {
        let home = tempfile::tempdir()?;
        std::fs::create_dir(home.path().join("plugins"))?;
        for f in ["b.so", "a.dylib", "notes.txt"] {
            std::fs::write(home.path().join("plugins").join(f), "")?;
        }
        let names: Vec<String> = home_plugins(home.path())
            .iter()
            .map(|s| display_name(&s.path))
            .collect();
        assert_eq!(names, ["a.dylib", "b.so"]);
        Ok(())
    }
}
