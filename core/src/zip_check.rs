//! Prebuilt zips (a function file `hello.zip`, or a directory function whose one file is a
//! zip) are checked when the project is built, not first by the controller or at invoke:
//! a corrupt or empty archive, or one whose entries would land outside its folder when
//! unpacked (`../x`, `/etc/x`), is refused with the file named.

use std::io::{Read, Seek};
use std::path::Path;

/// Why a prebuilt zip is refused.
#[derive(Debug, thiserror::Error)]
pub enum ZipProblem {
    #[error("{path} is not a readable zip archive: {reason}")]
    Corrupt { path: String, reason: String },
    #[error("{path} is an empty zip archive")]
    Empty { path: String },
    #[error("{path} holds the entry '{entry}', which would be unpacked outside its folder")]
    Escaping { path: String, entry: String },
}

/// Checks the zip at `path`; `shown` is how messages name it.
pub fn check_prebuilt_zip(path: &Path, shown: &str) -> Result<(), ZipProblem> {
    let file = std::fs::File::open(path).map_err(|e| ZipProblem::Corrupt {
        path: shown.to_string(),
        reason: e.to_string(),
    })?;
    check_zip_reader(file, shown)
}

/// [`check_prebuilt_zip`] over any reader (the property tests feed it arbitrary bytes).
pub fn check_zip_reader(reader: impl Read + Seek, shown: &str) -> Result<(), ZipProblem> {
    let corrupt = |reason: String| ZipProblem::Corrupt {
        path: shown.to_string(),
        reason,
    };
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| corrupt(e.to_string()))?;
    if archive.is_empty() {
        return Err(ZipProblem::Empty {
            path: shown.to_string(),
        });
    }
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| corrupt(e.to_string()))?;
        let name = crate::names::escaped_bytes(entry.name_raw())
            .escape_debug()
            .to_string();
        // `enclosed_name` strips a leading `/`; an absolute name is refused all the same.
        let raw = entry.name_raw();
        let absolute =
            raw.first().is_some_and(|b| *b == b'/' || *b == b'\\') || raw.get(1) == Some(&b':');
        if absolute || entry.enclosed_name().is_none() {
            return Err(ZipProblem::Escaping {
                path: shown.to_string(),
                entry: name,
            });
        }
        // Reading each entry checks its compressed data and CRC.
        std::io::copy(&mut entry, &mut std::io::sink())
            .map_err(|e| corrupt(format!("entry '{name}': {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    fn zip_of(names: &[&str]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for n in names {
            w.start_file(*n, zip::write::SimpleFileOptions::default())
                .expect("entry");
            w.write_all(b"exports.main = () => ({})\n").expect("write");
        }
        w.finish().expect("finish").into_inner()
    }

    #[test]
    fn good_empty_corrupt_and_escaping() {
        assert!(check_zip_reader(Cursor::new(zip_of(&["index.js"])), "a.zip").is_ok());
        assert!(matches!(
            check_zip_reader(Cursor::new(zip_of(&[])), "a.zip"),
            Err(ZipProblem::Empty { .. })
        ));
        assert!(matches!(
            check_zip_reader(Cursor::new(b"not a zip".to_vec()), "a.zip"),
            Err(ZipProblem::Corrupt { .. })
        ));
        for evil in ["../evil.js", "/etc/cron.d/x", "a/../../x", "C:/x"] {
            assert!(
                matches!(
                    check_zip_reader(Cursor::new(zip_of(&[evil])), "a.zip"),
                    Err(ZipProblem::Escaping { .. })
                ),
                "{evil}"
            );
        }
        let mut bytes = zip_of(&["index.js"]);
        // Damage the stored data: the CRC check fails.
        if let Some(b) = bytes.get_mut(40) {
            *b ^= 0xff;
        }
        assert!(check_zip_reader(Cursor::new(bytes), "a.zip").is_err());
    }
}
