//! The project slice (spec §12.1 steps 1–3): one function's directory, `lib/`, and an
//! encrypted `project.yml` naming only that function, zipped with project-relative entry
//! names so that the slice is a project of its own.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use sluice_core::runtimes::{Agreement, agree_on_runtime};
use sluice_core::{
    ActionSpec, Credentials, DeployStructure, DeployerAnnotation, Flags, PackageSpec, RuntimeTable,
    SystemIgnore, build_kind,
};
use zip::write::SimpleFileOptions;

use crate::crypt::{encrypt_config, new_key};
use crate::error::{Error, Result};

/// `MAX_SLICE_UPLOAD_SIZE`'s default: 64 MiB.
pub const DEFAULT_MAX_SLICE_SIZE: usize = 64 * 1024 * 1024;

/// What a slice is made of.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct SliceRequest<'a> {
    /// The project's directory, absolute.
    pub project_dir: &'a Path,
    /// The project as read and planned (for its top-level parameters, environment and
    /// target namespace).
    pub project: &'a DeployStructure,
    /// The function's package, and the function (its `file` is project-relative).
    pub package: &'a PackageSpec,
    pub action: &'a ActionSpec,
    /// Who the slice deployer deploys as.
    pub credentials: &'a Credentials,
    /// The client's flags; the slice gets a copy with `remoteBuild` off and no build-env file.
    pub flags: &'a Flags,
    pub deployer_annotation: Option<&'a DeployerAnnotation>,
    /// `--build-env` entries: they travel in the slice config.
    pub build_env: &'a BTreeMap<String, String>,
    pub runtimes: &'a RuntimeTable,
    pub system_ignore: &'a SystemIgnore,
    /// Largest slice that may be uploaded, in bytes.
    pub max_size: usize,
}

impl<'a> SliceRequest<'a> {
    /// A request with the default size limit and no annotation or build environment.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        project_dir: &'a Path,
        project: &'a DeployStructure,
        package: &'a PackageSpec,
        action: &'a ActionSpec,
        credentials: &'a Credentials,
        flags: &'a Flags,
        build_env: &'a BTreeMap<String, String>,
        runtimes: &'a RuntimeTable,
        system_ignore: &'a SystemIgnore,
    ) -> Self {
        SliceRequest {
            project_dir,
            project,
            package,
            action,
            credentials,
            flags,
            deployer_annotation: None,
            build_env,
            runtimes,
            system_ignore,
            max_size: DEFAULT_MAX_SLICE_SIZE,
        }
    }

    /// Sets the deployer annotation the slice deployer writes on the function.
    pub fn with_annotation(mut self, annotation: Option<&'a DeployerAnnotation>) -> Self {
        self.deployer_annotation = annotation;
        self
    }

    /// Sets the upload limit.
    pub fn with_max_size(mut self, max_size: usize) -> Self {
        self.max_size = max_size;
        self
    }

    /// `<pkg>_<name>`, the name `getUploadUrl` is asked for (`default_<name>` in the default
    /// package).
    pub fn tag(&self) -> String {
        format!("{}_{}", package_segment(self.package), self.action.name)
    }

    fn entity(&self) -> String {
        self.action.qualified_name(&self.package.name)
    }
}

/// A slice ready to upload.
#[derive(Debug, Clone)]
pub struct Slice {
    /// The zip.
    pub zip: Vec<u8>,
    /// The config's key, sent to the builder as `encryptionKey`.
    pub key_hex: String,
    /// The runtime the function is built in, as written (`go:default`).
    pub runtime: String,
    /// `<pkg>_<name>`.
    pub tag: String,
    /// Entry names and modes, sorted (what tests and `--verbose-zip` look at).
    pub entries: Vec<(String, u32)>,
}

/// The package segment of a tag: the package's name, `default` for the default package.
fn package_segment(package: &PackageSpec) -> &str {
    if package.is_default() {
        "default"
    } else {
        &package.name
    }
}

/// Makes the slice of `req.action` (spec §12.1 steps 1–3).
pub fn make_slice(req: &SliceRequest<'_>) -> Result<Slice> {
    let entity = req.entity();
    let kind = req.action.build.as_deref().unwrap_or(build_kind::REMOTE);
    let Some(file) = req.action.file.as_deref() else {
        return Err(Error::Config {
            entity,
            message: "the function has no file or directory to build".to_string(),
        });
    };
    let abs = req.project_dir.join(file);
    let io = |path: &Path, source: std::io::Error| Error::Io {
        entity: entity.clone(),
        path: path.to_path_buf(),
        source,
    };
    let is_dir = abs.metadata().map_err(|e| io(&abs, e))?.is_dir();

    let mut entries: Vec<Entry> = Vec::new();
    let action_dir: String;
    if is_dir {
        for marker in ["__deployer__.zip", ".built"] {
            if abs.join(marker).exists() {
                return Err(Error::BuiltLocally { dir: abs });
            }
        }
        sluice_core::finder::check_include_file(&abs, req.project_dir).map_err(|source| {
            Error::Include {
                entity: entity.clone(),
                source,
            }
        })?;
        action_dir = file.trim_end_matches('/').to_string();
        walk(req, &abs, &action_dir, &mut entries).map_err(|(p, e)| io(&p, e))?;
    } else {
        // A single file becomes a directory action named after the function.
        let parent = Path::new(file)
            .parent()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let base = Path::new(file)
            .file_name()
            .map(|b| b.to_string_lossy().into_owned())
            .unwrap_or_default();
        action_dir = join(&parent, &req.action.name);
        entries.push(Entry {
            name: join(&action_dir, &base),
            mode: 0o666,
            data: Data::File(abs.clone()),
        });
    }

    let runtime = match req.action.runtime.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => r.to_string(),
        None => {
            let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
            match agree_on_runtime(names, req.runtimes) {
                Agreement::Agreed(r) => r,
                _ => return Err(Error::NoRuntime { entity }),
            }
        }
    };

    if kind == build_kind::REMOTE_DEFAULT {
        let main = req.action.main.as_deref().unwrap_or("Main");
        let script = format!("#!/bin/bash\nset -e\n/bin/defaultBuild {main}\n");
        entries.retain(|e| e.name != join(&action_dir, "build.sh"));
        entries.push(Entry {
            name: join(&action_dir, "build.sh"),
            mode: 0o777,
            data: Data::Bytes(script.into_bytes()),
        });
    }

    let lib = req.project_dir.join("lib");
    if lib.is_dir() {
        walk(req, &lib, "lib", &mut entries).map_err(|(p, e)| io(&p, e))?;
    }

    let config = slice_config(req, &runtime);
    let yaml = config_yaml(&config).map_err(|e| Error::Config {
        entity: entity.clone(),
        message: e.to_string(),
    })?;
    let key = new_key();
    entries.push(Entry {
        name: "project.yml".to_string(),
        mode: 0o644,
        data: Data::Bytes(encrypt_config(&yaml, &key).into_bytes()),
    });
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries.dedup_by(|a, b| a.name == b.name);

    let zip = write_zip(&entries, req.max_size).map_err(|e| match e {
        ZipFailure::Io(path, source) => io(&path, source),
        ZipFailure::Zip(message) => Error::Zip {
            entity: entity.clone(),
            message,
        },
        ZipFailure::TooLarge => Error::TooLarge {
            file: file.to_string(),
        },
    })?;
    Ok(Slice {
        zip,
        key_hex: hex::encode(key),
        runtime,
        tag: req.tag(),
        entries: entries.iter().map(|e| (e.name.clone(), e.mode)).collect(),
    })
}

/// The slice's `project.yml` before encryption (spec §12.1 step 3). Unlike the original,
/// the client's own flags are not changed, and the package is the function's own.
pub fn slice_config(req: &SliceRequest<'_>, runtime: &str) -> DeployStructure {
    let a = req.action;
    let action = ActionSpec {
        name: a.name.clone(),
        runtime: Some(runtime.to_string()),
        main: a.main.clone(),
        binary: a.binary,
        zipped: a.zipped,
        web: a.web,
        web_secure: a.web_secure.clone(),
        annotations: a.annotations.clone(),
        parameters: a.parameters.clone(),
        environment: a.environment.clone(),
        limits: a.limits.clone(),
        ..ActionSpec::default()
    };
    let p = req.package;
    let package = PackageSpec {
        name: package_segment(p).to_string(),
        shared: p.shared,
        web: p.web,
        environment: p.environment.clone(),
        parameters: p.parameters.clone(),
        annotations: p.annotations.clone(),
        deployed_during_build: Some(false),
        actions: vec![action],
        ..PackageSpec::default()
    };
    let mut flags = req.flags.clone();
    flags.remote_build = false;
    flags.build_env = None;
    DeployStructure {
        packages: vec![package],
        parameters: req.project.parameters.clone(),
        environment: req.project.environment.clone(),
        target_namespace: req.project.target_namespace.clone(),
        slice: Some(true),
        credentials: Some(req.credentials.clone()),
        flags: Some(flags),
        deployer_annotation: req.deployer_annotation.cloned(),
        build_env: (!req.build_env.is_empty()).then(|| req.build_env.clone()),
        ..DeployStructure::default()
    }
}

/// The config as YAML, without what only a read produces (`strays`).
fn config_yaml(config: &DeployStructure) -> std::result::Result<String, serde_yaml::Error> {
    let mut value = serde_yaml::to_value(config)?;
    if let Some(map) = value.as_mapping_mut() {
        map.remove("strays");
    }
    serde_yaml::to_string(&value)
}

struct Entry {
    name: String,
    mode: u32,
    data: Data,
}

enum Data {
    File(PathBuf),
    Bytes(Vec<u8>),
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Every file under `dir` (entry names under `rel`), less the exclusion list.
fn walk(
    req: &SliceRequest<'_>,
    dir: &Path,
    rel: &str,
    out: &mut Vec<Entry>,
) -> std::result::Result<(), (PathBuf, std::io::Error)> {
    let read = std::fs::read_dir(dir).map_err(|e| (dir.to_path_buf(), e))?;
    let mut children: Vec<_> = read
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| (dir.to_path_buf(), e))?;
    children.sort_by_key(|c| c.file_name());
    for child in children {
        let name = child.file_name().to_string_lossy().into_owned();
        let child_rel = join(rel, &name);
        if req.system_ignore.is_excluded(&child_rel) {
            continue;
        }
        let path = child.path();
        let meta = std::fs::metadata(&path).map_err(|e| (path.clone(), e))?;
        if meta.is_dir() {
            walk(req, &path, &child_rel, out)?;
        } else {
            out.push(Entry {
                name: child_rel,
                mode: mode_of(&meta, &name),
                data: Data::File(path),
            });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata, _name: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn mode_of(_meta: &std::fs::Metadata, name: &str) -> u32 {
    // No modes on this platform: scripts must still run in the builder.
    if name.ends_with(".sh") { 0o777 } else { 0o666 }
}

enum ZipFailure {
    Io(PathBuf, std::io::Error),
    Zip(String),
    TooLarge,
}

fn write_zip(entries: &[Entry], max_size: usize) -> std::result::Result<Vec<u8>, ZipFailure> {
    let zip_err = |e: zip::result::ZipError| ZipFailure::Zip(e.to_string());
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for entry in entries {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(entry.mode);
        zip.start_file(entry.name.as_str(), options)
            .map_err(zip_err)?;
        match &entry.data {
            Data::Bytes(b) => zip
                .write_all(b)
                .map_err(|e| ZipFailure::Io(PathBuf::from(&entry.name), e))?,
            Data::File(path) => {
                let mut input =
                    std::fs::File::open(path).map_err(|e| ZipFailure::Io(path.clone(), e))?;
                std::io::copy(&mut input, &mut zip).map_err(|e| ZipFailure::Io(path.clone(), e))?;
            }
        }
        if zip.get_ref().is_some_and(|w| w.get_ref().len() > max_size) {
            return Err(ZipFailure::TooLarge);
        }
    }
    let bytes = zip.finish().map_err(zip_err)?.into_inner();
    if bytes.len() > max_size {
        return Err(ZipFailure::TooLarge);
    }
    Ok(bytes)
}
