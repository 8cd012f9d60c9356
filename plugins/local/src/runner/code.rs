//! Materialises an action's code on disk, once per distinct code: a single source file becomes
//! `index.js` / `index.mjs` / `__main__.py`, a base64 zip is unpacked. The directory name is a
//! digest of kind, main and code, so a new action version with the same code shares it, and a
//! changed code never sees stale files. Unpacking happens in a temporary sibling that is renamed
//! into place, so concurrent cold starts never observe half a tree.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{Language, RunnableAction};

/// Why code could not be materialised. These are the action developer's problem, reported as
/// developer errors of the activation.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// `binary` code that is not base64.
    #[error("The action code is marked binary but is not valid base64: {0}")]
    Base64(String),
    /// Not a readable zip archive.
    #[error("The action code is not a valid zip archive: {0}")]
    Zip(String),
    /// A zip entry that would land outside the code directory.
    #[error("The zip entry '{0}' escapes the action's folder; refusing to unpack it.")]
    EscapingEntry(String),
    /// Go code that cannot become an action-loop executable.
    #[error("Initialization has failed due to: {0}")]
    Go(String),
    /// `go build` failed: its output.
    #[error("Initialization has failed due to: go build failed:\n{0}")]
    GoBuild(String),
    /// The `go` program could not be started.
    #[error(
        "The runtime 'go' cannot run locally: could not start '{}': {source}. Install Go \
         (1.19 or later), or point SLUICE_GO at it.",
        program.display()
    )]
    GoMissing {
        /// The program tried.
        program: PathBuf,
        /// Why it did not start.
        source: std::io::Error,
    },
    /// The cache directory could not be written.
    #[error("Could not write the action's code to {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CodeError + '_ {
    move |source| CodeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The digest naming an action's code directory.
pub fn code_digest(action: &RunnableAction) -> String {
    let mut h = Sha256::new();
    for part in [
        action.kind.as_str(),
        action.main.as_deref().unwrap_or(""),
        if action.binary { "zip" } else { "text" },
        action.code.as_str(),
    ] {
        h.update(part.len().to_le_bytes());
        h.update(part.as_bytes());
    }
    hex_string(&h.finalize())
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes sure the action's code is on disk under `cache_dir` and returns its directory. Go
/// code is compiled there, with `go`, before the directory is put in place
/// ([`super::go::prepare`]), so a compiled tree is never half there.
pub fn materialise(
    cache_dir: &Path,
    lang: Language,
    action: &RunnableAction,
    go: &Path,
) -> Result<PathBuf, CodeError> {
    let digest = code_digest(action);
    let dir = cache_dir.join("code").join(&digest);
    if dir.is_dir() {
        return Ok(dir);
    }
    let parent = cache_dir.join("code");
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{digest}-"))
        .tempdir_in(&parent)
        .map_err(io(&parent))?;
    if action.binary {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(action.code.trim().as_bytes())
            .map_err(|e| CodeError::Base64(e.to_string()))?;
        unzip_into(&bytes, staging.path())?;
    } else {
        let file = staging.path().join(single_file_name(lang, &action.code));
        std::fs::write(&file, action.code.as_bytes()).map_err(io(&file))?;
    }
    if lang == Language::Go {
        super::go::prepare(go, cache_dir, staging.path(), action.main.as_deref())?;
    }
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, &dir) {
        // Another cold start won the race: its tree is identical, use it.
        let _ = std::fs::remove_dir_all(&staged);
        if !dir.is_dir() {
            return Err(CodeError::Io {
                path: dir,
                source: e,
            });
        }
    }
    Ok(dir)
}

/// The file a single-source action is written to.
fn single_file_name(lang: Language, code: &str) -> &'static str {
    match lang {
        Language::Python => "__main__.py",
        Language::Go => "main.go",
        Language::Node if looks_like_es_module(code) => "index.mjs",
        Language::Node => "index.js",
    }
}

/// ES module syntax at the start of a line (`export …`, `import x from …`) — such code cannot
/// be evaluated as CommonJS, so it is written as `index.mjs` and imported, as DigitalOcean's
/// node runtime does.
fn looks_like_es_module(code: &str) -> bool {
    code.lines().map(str::trim_start).any(|l| {
        l.starts_with("export ")
            || l.starts_with("export{")
            || (l.starts_with("import ") && (l.contains(" from ") || l.contains(" from\"")))
            || l.starts_with("import {")
    })
}

/// Unpacks a zip into `dest`, refusing entries that would escape it (absolute paths, `..`).
pub fn unzip_into(bytes: &[u8], dest: &Path) -> Result<(), CodeError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| CodeError::Zip(e.to_string()))?;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| CodeError::Zip(e.to_string()))?;
        let name = entry
            .name()
            .map_err(|e| CodeError::Zip(e.to_string()))?
            .to_string();
        let relative =
            safe_relative(&name).ok_or_else(|| CodeError::EscapingEntry(name.clone()))?;
        let target = dest.join(&relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).map_err(io(&target))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let mut data = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut data)
            .map_err(|e| CodeError::Zip(format!("{name}: {e}")))?;
        if entry.is_symlink() {
            // A link could point anywhere; keep only links that stay inside the folder.
            let link = String::from_utf8_lossy(&data).to_string();
            let resolved = relative
                .parent()
                .map(|p| p.join(&link))
                .unwrap_or_else(|| PathBuf::from(&link));
            if safe_relative(&resolved.to_string_lossy()).is_none() {
                return Err(CodeError::EscapingEntry(name));
            }
            write_symlink(&link, &target)?;
            continue;
        }
        std::fs::write(&target, &data).map_err(io(&target))?;
        #[cfg(unix)]
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            let perms = std::fs::Permissions::from_mode(mode & 0o755 | 0o600);
            std::fs::set_permissions(&target, perms).map_err(io(&target))?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn write_symlink(link: &str, target: &Path) -> Result<(), CodeError> {
    std::os::unix::fs::symlink(link, target).map_err(io(target))
}

#[cfg(not(unix))]
fn write_symlink(_link: &str, target: &Path) -> Result<(), CodeError> {
    Err(CodeError::Zip(format!(
        "symbolic links in zips are not supported here: {}",
        target.display()
    )))
}

/// The entry's path as a relative path that stays inside its folder (after resolving `..`),
/// or `None`.
fn safe_relative(name: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for comp in Path::new(&name.replace('\\', "/")).components() {
        match comp {
            Component::Normal(c) => out.push(c),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn action(code: &str, binary: bool) -> RunnableAction {
        RunnableAction {
            namespace: "guest".into(),
            package: None,
            name: "a".into(),
            version: "0.0.1".into(),
            kind: "nodejs:20".into(),
            code: code.into(),
            binary,
            main: None,
            timeout_ms: 1000,
            logs_mb: 10,
            memory_mb: 256,
        }
    }

    pub(crate) fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default();
            for (name, body) in entries {
                w.start_file(*name, opts).expect("start zip entry");
                w.write_all(body.as_bytes()).expect("write zip entry");
            }
            w.finish().expect("finish zip");
        }
        buf.into_inner()
    }

    #[test]
    fn escaping_entries_are_refused() {
        assert!(safe_relative("../evil").is_none());
        assert!(safe_relative("/etc/passwd").is_none());
        assert!(safe_relative("a/../../evil").is_none());
        assert_eq!(safe_relative("a/./b/../c"), Some(PathBuf::from("a/c")));
        let dir = tempfile::tempdir().expect("tempdir");
        let bytes = zip_of(&[("ok.js", "1"), ("../escape.js", "2")]);
        let err = unzip_into(&bytes, &dir.path().join("x")).expect_err("must refuse");
        assert!(matches!(err, CodeError::EscapingEntry(ref n) if n == "../escape.js"));
        assert!(!dir.path().join("escape.js").exists());
    }

    #[test]
    fn zip_is_unpacked_once_per_code() {
        let cache = tempfile::tempdir().expect("tempdir");
        let zip = zip_of(&[("index.js", "exports.main = () => ({})"), ("lib/a.js", "x")]);
        let code = base64::engine::general_purpose::STANDARD.encode(zip);
        let a = action(&code, true);
        let dir =
            materialise(cache.path(), Language::Node, &a, Path::new("go")).expect("materialise");
        assert!(dir.join("index.js").is_file());
        assert!(dir.join("lib/a.js").is_file());
        std::fs::write(dir.join("marker"), "kept").expect("marker");
        let again = materialise(cache.path(), Language::Node, &a, Path::new("go"))
            .expect("materialise again");
        assert_eq!(dir, again);
        assert!(
            again.join("marker").is_file(),
            "second call reuses the tree"
        );
    }

    #[test]
    fn single_files_get_the_runtime_file_name() {
        let cache = tempfile::tempdir().expect("tempdir");
        let js = materialise(
            cache.path(),
            Language::Node,
            &action("function main(){}", false),
            Path::new("go"),
        )
        .expect("js");
        assert!(js.join("index.js").is_file());
        let esm = materialise(
            cache.path(),
            Language::Node,
            &action("export function main(){}", false),
            Path::new("go"),
        )
        .expect("esm");
        assert!(esm.join("index.mjs").is_file());
        let py = materialise(
            cache.path(),
            Language::Python,
            &action("def main(a):\n  return a", false),
            Path::new("go"),
        )
        .expect("py");
        assert!(py.join("__main__.py").is_file());
    }

    #[test]
    fn bad_base64_is_a_clear_error() {
        let cache = tempfile::tempdir().expect("tempdir");
        let err = materialise(
            cache.path(),
            Language::Node,
            &action("not base64!", true),
            Path::new("go"),
        )
        .expect_err("bad base64");
        assert!(err.to_string().contains("not valid base64"));
    }
}
