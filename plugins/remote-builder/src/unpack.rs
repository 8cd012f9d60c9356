//! The builder's side of a slice (spec §12.5): unzip it into `<tmp>/slices/<name>` with the
//! entries' modes, and decrypt its `project.yml` with the key the client sent. The slice
//! deployer then reads that directory as a project, with the decrypted config standing in
//! for the file (the plain text never touches the disk: it holds credentials).
//!
//! `remote-default` functions carry a generated `build.sh` calling `/bin/defaultBuild`, a
//! program of DigitalOcean's runtime images. Where it does not exist (sluice's own builder on
//! this machine) the script is taken out and the function is marked `localBuild: true`, so
//! the default builder of its language here (go-default) builds it instead.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::crypt::decrypt_config;
use crate::error::{Error, Result};

/// Where a runtime image keeps its default build.
pub const DEFAULT_BUILD: &str = "/bin/defaultBuild";

/// A slice unpacked and decrypted.
#[derive(Clone)]
pub struct OpenedSlice {
    /// The project directory: `<tmp>/slices/<name>`.
    pub dir: PathBuf,
    /// The decrypted `project.yml` (with `localBuild: true` on functions whose default build
    /// is done here).
    pub config: String,
}

impl std::fmt::Debug for OpenedSlice {
    // The config holds credentials: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedSlice")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// The directory slices are unpacked in: `<tmp>/slices`.
pub fn slices_cache_dir() -> PathBuf {
    std::env::temp_dir().join("slices")
}

fn fetch_error(name: &str, message: impl std::fmt::Display) -> Error {
    Error::Fetch {
        slice: name.to_string(),
        message: message.to_string(),
    }
}

/// Unzips `zip` (the slice `name`) under `cache_dir` after removing an earlier copy, and
/// decrypts its config with `key_hex`; without a key the config must be plain YAML (the
/// slices of the original's predecessor, `@nimbella/nimbella-deployer`, are not encrypted). `default_build` says whether a runtime image's
/// `/bin/defaultBuild` is there to run the generated build scripts.
pub fn open_slice(
    zip: &[u8],
    name: &str,
    key_hex: Option<&str>,
    cache_dir: &Path,
    default_build: bool,
) -> Result<OpenedSlice> {
    if name
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(fetch_error(name, "the slice name is not a relative path"));
    }
    let dir = cache_dir.join(name);
    let io = |path: &Path, e: std::io::Error| fetch_error(name, format!("{}: {e}", path.display()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| io(&dir, e))?;
    }
    create_private_dir(&dir).map_err(|e| io(&dir, e))?;
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(zip)).map_err(|e| fetch_error(name, e))?;
    let mut cipher = None;
    let mut default_scripts = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| fetch_error(name, e))?;
        let Some(rel) = entry.enclosed_name() else {
            return Err(fetch_error(
                name,
                format!("the entry {i} points outside the slice"),
            ));
        };
        let rel_text = rel.to_string_lossy().replace('\\', "/");
        let target = dir.join(&rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| io(&target, e))?;
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| io(&target, e))?;
        if rel_text == "project.yml" {
            cipher = Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        if !default_build
            && rel_text.ends_with("/build.sh")
            && let Some(main) = default_build_main(&bytes)
        {
            // The function directory, project-relative, and its main.
            let fn_dir = rel_text.trim_end_matches("/build.sh").to_string();
            default_scripts.push((fn_dir, main));
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&target, &bytes).map_err(|e| io(&target, e))?;
        set_mode(&target, entry.unix_mode()).map_err(|e| io(&target, e))?;
    }
    let Some(cipher) = cipher else {
        return Err(fetch_error(name, "the slice has no project.yml"));
    };
    let config = match key_hex {
        Some(key) => decrypt_config(&cipher, key)?,
        None if looks_encrypted(&cipher) => {
            return Err(Error::Decrypt {
                message: "the config is encrypted and no key was given".to_string(),
            });
        }
        None => cipher,
    };
    let config = if default_scripts.is_empty() {
        config
    } else {
        build_locally(&config, &default_scripts).map_err(|message| Error::Config {
            entity: format!("slice:{name}"),
            message,
        })?
    };
    Ok(OpenedSlice { dir, config })
}

/// Hex digits and nothing else: a ciphertext, not YAML.
fn looks_encrypted(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty() && t.chars().all(|c| c.is_ascii_hexdigit())
}

/// The `<main>` of a script the client generated for `remote-default` (three lines:
/// `#!/bin/bash`, `set -e`, `/bin/defaultBuild <main>`).
fn default_build_main(script: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(script).ok()?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    match lines.as_slice() {
        ["#!/bin/bash", "set -e", last] => last
            .strip_prefix(DEFAULT_BUILD)
            .map(|m| m.trim().to_string())
            .filter(|m| !m.contains(char::is_whitespace)),
        _ => None,
    }
}

/// The config with `localBuild: true` on the functions of `dirs` (`packages/<pkg>/<fn>`).
fn build_locally(config: &str, dirs: &[(String, String)]) -> std::result::Result<String, String> {
    let mut value: serde_yaml::Value = serde_yaml::from_str(config).map_err(|e| e.to_string())?;
    let packages = value
        .get_mut("packages")
        .and_then(serde_yaml::Value::as_sequence_mut);
    for package in packages.into_iter().flatten() {
        let pkg = package
            .get("name")
            .and_then(serde_yaml::Value::as_str)
            .unwrap_or("default")
            .to_string();
        // `functions` as sluice writes it, `actions` as the original does.
        let Some(map) = package.as_mapping_mut() else {
            continue;
        };
        let actions = map
            .iter_mut()
            .filter(|(k, _)| matches!(k.as_str(), Some("functions" | "actions")))
            .filter_map(|(_, v)| v.as_sequence_mut());
        for action in actions.flatten() {
            let name = action
                .get("name")
                .and_then(serde_yaml::Value::as_str)
                .unwrap_or_default()
                .to_string();
            let dir = format!("packages/{pkg}/{name}");
            if dirs.iter().any(|(d, _)| *d == dir)
                && let Some(map) = action.as_mapping_mut()
            {
                map.insert("localBuild".into(), true.into());
            }
        }
    }
    serde_yaml::to_string(&value).map_err(|e| e.to_string())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: Option<u32>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match mode {
        Some(m) => std::fs::set_permissions(path, std::fs::Permissions::from_mode(m & 0o777)),
        None => Ok(()),
    }
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: Option<u32>) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn zip_of(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, mode, data) in entries {
            zip.start_file(*name, SimpleFileOptions::default().unix_permissions(*mode))
                .expect("entry");
            zip.write_all(data).expect("data");
        }
        zip.finish().expect("zip").into_inner()
    }

    #[test]
    fn unpacks_with_modes_and_decrypts_the_config()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let key = crate::crypt::new_key();
        let config = "slice: true\npackages:\n- name: default\n  functions:\n  - name: hello\n    runtime: go:default\n";
        let cipher = crate::crypt::encrypt_config(config, &key);
        let script = b"#!/bin/bash\nset -e\n/bin/defaultBuild Main\n";
        let zip = zip_of(&[
            ("packages/default/hello/main.go", 0o644, b"package main\n"),
            ("packages/default/hello/build.sh", 0o777, script),
            ("lib/run.sh", 0o755, b"echo\n"),
            ("project.yml", 0o644, cipher.as_bytes()),
        ]);
        let cache = tempfile::tempdir()?;
        std::fs::create_dir_all(cache.path().join("local/abc/stale"))?;
        let opened = open_slice(
            &zip,
            "local/abc",
            Some(&hex::encode(key)),
            cache.path(),
            false,
        )?;
        assert!(
            !opened.dir.join("stale").exists(),
            "an earlier copy is removed"
        );
        assert!(opened.dir.join("packages/default/hello/main.go").is_file());
        assert!(
            !opened.dir.join("packages/default/hello/build.sh").exists(),
            "the default build is done here"
        );
        assert!(
            opened.config.contains("localBuild: true"),
            "{}",
            opened.config
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(opened.dir.join("lib/run.sh"))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o755);
        }
        // With a runtime image's defaultBuild, the script stays and the config is as sent.
        let kept = open_slice(
            &zip,
            "local/abc",
            Some(&hex::encode(key)),
            cache.path(),
            true,
        )?;
        assert!(kept.dir.join("packages/default/hello/build.sh").is_file());
        assert_eq!(kept.config, config);
        // Another key is refused with the key's variable named.
        let wrong = open_slice(
            &zip,
            "local/abc",
            Some(&hex::encode(crate::crypt::new_key())),
            cache.path(),
            true,
        );
        assert!(wrong.is_err());
        assert!(open_slice(&zip, "../x", Some(&hex::encode(key)), cache.path(), true).is_err());
        // Without a key, an encrypted config is refused and a plain one read as it is.
        assert!(open_slice(&zip, "local/abc", None, cache.path(), true).is_err());
        let plain = zip_of(&[("project.yml", 0o644, config.as_bytes())]);
        let opened = open_slice(&plain, "local/plain", None, cache.path(), true)?;
        assert_eq!(opened.config, config);
        Ok(())
    }

    #[test]
    fn local_builds_are_marked_in_either_spelling_of_the_function_list() {
        let dirs = [("packages/p/f".to_string(), "Main".to_string())];
        for key in ["functions", "actions"] {
            let config = format!("packages:\n- name: p\n  {key}:\n  - name: f\n  - name: g\n");
            let out = build_locally(&config, &dirs).expect("yaml");
            let v: serde_yaml::Value = serde_yaml::from_str(&out).expect("yaml");
            let list = &v["packages"][0][key];
            assert_eq!(
                list[0]["localBuild"],
                serde_yaml::Value::Bool(true),
                "{out}"
            );
            assert!(list[1].get("localBuild").is_none(), "{out}");
        }
    }

    #[test]
    fn only_the_generated_script_is_a_default_build() {
        assert_eq!(
            default_build_main(b"#!/bin/bash\nset -e\n/bin/defaultBuild Main\n").as_deref(),
            Some("Main")
        );
        assert_eq!(
            default_build_main(b"#!/bin/bash\nset -e\n/bin/defaultBuild Main\nrm -rf x\n"),
            None
        );
        assert_eq!(default_build_main(b"#!/bin/bash\nnpm install\n"), None);
    }
}
