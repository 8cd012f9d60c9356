//! The `virtualenv/` directory sluice makes inside a function directory, in the layout
//! OpenWhisk's (and so DigitalOcean's) python runtime loads: the runtime's launcher looks for
//! `./virtualenv`, and when it is there execs `virtualenv/bin/activate_this.py` (a zip whose
//! `virtualenv/` lacks that file fails with "Invalid virtualenv"); packages live in
//! `virtualenv/lib/pythonX.Y/site-packages`.
//!
//! sluice does not need the `virtualenv` tool for this: pip installs with `--target` into
//! site-packages and sluice writes `activate_this.py` itself. It recognises its own virtualenv
//! by that file's first line, and never deletes a `virtualenv/` it did not make.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{PythonError, Result};

/// The directory's name, fixed by the runtime.
pub const VIRTUALENV: &str = "virtualenv";
/// The marker of the last successful install, inside `virtualenv/`.
pub const MARKER: &str = ".sluice-requirements";
/// The first line of the `activate_this.py` sluice writes.
const HEADER: &str = "# virtualenv activation written by sluice's python builder";

/// What `virtualenv/bin/activate_this.py` does when the runtime execs it (with `__file__`
/// set, as virtualenv's own script expects): puts the virtualenv's site-packages for the
/// running interpreter (or, failing that, any `lib/python*/site-packages`) at the front of
/// `sys.path`, processing `.pth` files, and sets `VIRTUAL_ENV`, `PATH` and `sys.prefix` the way
/// an activated virtualenv has them.
const ACTIVATE_BODY: &str = r#"
import glob
import os
import site
import sys

_bin = os.path.dirname(os.path.abspath(__file__))
_base = os.path.dirname(_bin)
_own = os.path.join(_base, "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
_dirs = [_own] if os.path.isdir(_own) else sorted(glob.glob(os.path.join(_base, "lib", "python*", "site-packages")))

os.environ["PATH"] = os.pathsep.join([_bin] + [p for p in os.environ.get("PATH", "").split(os.pathsep) if p])
os.environ["VIRTUAL_ENV"] = _base

_before = list(sys.path)
for _dir in _dirs:
    site.addsitedir(_dir)
sys.path[:] = [p for p in sys.path if p not in _before] + _before

sys.real_prefix = sys.prefix
sys.prefix = _base
"#;

/// The paths of one function directory's virtualenv.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `<dir>/virtualenv`.
    pub root: PathBuf,
    /// `virtualenv/lib/pythonX.Y/site-packages`, relative to the function directory and
    /// `/`-separated (it appears in the pip command line and messages).
    pub site_packages: String,
}

impl Layout {
    /// The layout for an interpreter of version `x_y` (`3.11`).
    pub fn new(dir: &Path, x_y: &str) -> Self {
        Layout {
            root: dir.join(VIRTUALENV),
            site_packages: format!("{VIRTUALENV}/lib/python{x_y}/site-packages"),
        }
    }

    fn activate_this(&self) -> PathBuf {
        self.root.join("bin").join("activate_this.py")
    }

    fn marker(&self) -> PathBuf {
        self.root.join(MARKER)
    }

    /// Whether there is a `virtualenv/` that sluice did not write (the user's own, kept).
    pub fn is_foreign(&self) -> bool {
        self.root.exists()
            && !std::fs::read_to_string(self.activate_this())
                .is_ok_and(|text| text.starts_with(HEADER))
    }

    /// Whether the last successful install was of exactly `stamp`.
    pub fn is_current(&self, stamp: &str, dir: &Path) -> bool {
        dir.join(&self.site_packages).is_dir()
            && std::fs::read_to_string(self.marker()).is_ok_and(|m| m == stamp)
    }

    /// Removes sluice's previous virtualenv and writes an empty one: `activate_this.py` and
    /// the site-packages directory pip installs into.
    pub fn recreate(&self, dir: &Path) -> Result<()> {
        if self.root.exists() {
            std::fs::remove_dir_all(&self.root).map_err(|e| PythonError::io(&self.root, e))?;
        }
        let site_packages = dir.join(&self.site_packages);
        std::fs::create_dir_all(&site_packages).map_err(|e| PythonError::io(&site_packages, e))?;
        let activate = self.activate_this();
        if let Some(bin) = activate.parent() {
            std::fs::create_dir_all(bin).map_err(|e| PythonError::io(bin, e))?;
        }
        std::fs::write(&activate, format!("{HEADER}\n{ACTIVATE_BODY}"))
            .map_err(|e| PythonError::io(&activate, e))
    }

    /// Records a successful install of `stamp`.
    pub fn mark_installed(&self, stamp: &str) -> Result<()> {
        let marker = self.marker();
        std::fs::write(&marker, stamp).map_err(|e| PythonError::io(&marker, e))
    }
}

/// What an install depends on: the digest of `requirements.txt` and the interpreter's
/// version. The marker holds it; an equal stamp means pip would install the same thing.
pub fn stamp(requirements: &Path, x_y: &str) -> Result<String> {
    let bytes = std::fs::read(requirements).map_err(|e| PythonError::io(requirements, e))?;
    Ok(format!(
        "requirements.txt sha256:{}\npython {x_y}\n",
        hex::encode(Sha256::digest(&bytes))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recreated_virtualenv_is_ours_and_current_once_marked()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let t = tempfile::tempdir()?;
        std::fs::write(t.path().join("requirements.txt"), "six==1.16.0\n")?;
        let layout = Layout::new(t.path(), "3.11");
        assert!(!layout.is_foreign());
        let stamp = stamp(&t.path().join("requirements.txt"), "3.11")?;
        layout.recreate(t.path())?;
        assert!(!layout.is_foreign());
        assert!(!layout.is_current(&stamp, t.path()));
        layout.mark_installed(&stamp)?;
        assert!(layout.is_current(&stamp, t.path()));
        assert!(
            t.path()
                .join("virtualenv/lib/python3.11/site-packages")
                .is_dir()
        );
        std::fs::write(t.path().join("requirements.txt"), "six==1.17.0\n")?;
        let changed = super::stamp(&t.path().join("requirements.txt"), "3.11")?;
        assert!(!layout.is_current(&changed, t.path()));
        Ok(())
    }

    #[test]
    fn a_virtualenv_without_our_activate_script_is_foreign()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let t = tempfile::tempdir()?;
        std::fs::create_dir_all(t.path().join("virtualenv/bin"))?;
        std::fs::write(
            t.path().join("virtualenv/bin/activate_this.py"),
            "# virtualenv's\n",
        )?;
        assert!(Layout::new(t.path(), "3.11").is_foreign());
        Ok(())
    }
}
