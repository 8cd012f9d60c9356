//! Property tests of the read-time rules that take untrusted text: substitution, YAML
//! loading (with the nesting pre-scan), entity names, property files and prebuilt-zip
//! checking. None may panic on any input; a few also check a law (a valid name is accepted,
//! text without directives is unchanged, nesting beyond the limit is refused).
//!
//! About 4,000 cases in all (400 per property).

use std::collections::BTreeMap;
use std::io::{Cursor, Write};

use proptest::prelude::*;
use sluice_core::names::{MAX_NAME_LEN, check_name};
use sluice_core::zip_check::check_zip_reader;
use sluice_fs_reader::properties::{Properties, malformed_dotenv_line, parse_properties};
use sluice_fs_reader::substitute::{Symbols, substitute};
use sluice_fs_reader::yaml;

/// Symbols with a few variables and one property file.
struct Fixed;

impl Symbols for Fixed {
    fn lookup(&self, name: &str) -> Option<String> {
        match name {
            "A" => Some("alpha".to_string()),
            "MULTI" => Some("one\ntwo".to_string()),
            _ => None,
        }
    }

    fn file(&self, path: &str) -> Result<Option<Properties>, String> {
        match path {
            "p.env" => Ok(Some(parse_properties("X=1\n"))),
            "outside.env" => Err("outside the project".to_string()),
            _ => Ok(None),
        }
    }
}

/// Text made of the characters substitution and YAML care about, and some others.
fn tricky_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("${".to_string()),
            Just("$(".to_string()),
            Just("}".to_string()),
            Just(")".to_string()),
            Just("<".to_string()),
            Just("|".to_string()),
            Just("A".to_string()),
            Just("MULTI".to_string()),
            Just("p.env".to_string()),
            Just(" ".to_string()),
            Just("\n".to_string()),
            Just("[".to_string()),
            Just("{".to_string()),
            Just("- ".to_string()),
            Just(": ".to_string()),
            Just("'".to_string()),
            Just("\"".to_string()),
            Just("#".to_string()),
            Just("&a ".to_string()),
            Just("*a".to_string()),
            "[a-z0-9]{1,4}",
            any::<char>().prop_map(String::from),
        ],
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn substitution_never_panics(text in tricky_text()) {
        if let Ok(done) = substitute(&text, &Fixed) {
            // Every unresolved name came from the text.
            for name in &done.unresolved {
                prop_assert!(text.contains(name.trim_start_matches('<')));
            }
        }
    }

    #[test]
    fn text_without_directives_is_unchanged(text in "[^$]{0,200}") {
        let done = substitute(&text, &Fixed).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(done.text, text);
        prop_assert!(done.unresolved.is_empty());
    }

    #[test]
    fn yaml_loading_never_panics(text in tricky_text()) {
        let _ = yaml::parse(&text);
        let _ = yaml::check_depth(&text);
        let _ = yaml::key_line(&text, "name", Some("a"));
    }

    #[test]
    fn nesting_beyond_the_limit_is_refused(depth in (yaml::MAX_DEPTH + 1)..2_000usize, open in prop_oneof![Just('['), Just('{')]) {
        let text = format!("a: {}\n", open.to_string().repeat(depth));
        prop_assert!(yaml::parse(&text).is_err());
    }

    #[test]
    fn valid_names_are_accepted(
        first in "[A-Za-z0-9_]",
        middle in "[A-Za-z0-9_@ .&-]{0,60}",
        last in "[A-Za-z0-9_@.&-]",
    ) {
        let name = format!("{first}{middle}{last}");
        prop_assert_eq!(check_name(&name), Ok(()));
    }

    #[test]
    fn names_with_path_characters_are_refused(prefix in "[a-z]{0,5}", bad in prop_oneof![Just('/'), Just('?'), Just('#'), Just('%'), Just('\\')], suffix in "[a-z]{0,5}") {
        let name = format!("{prefix}{bad}{suffix}");
        prop_assert!(check_name(&name).is_err());
    }

    #[test]
    fn any_name_is_checked_without_panic(name in any::<String>()) {
        let verdict = check_name(&name);
        if name.chars().count() > MAX_NAME_LEN || name.starts_with('.') || name.is_empty() {
            prop_assert!(verdict.is_err());
        }
    }

    #[test]
    fn property_files_never_panic(text in tricky_text()) {
        let _ = parse_properties(&text);
        let _ = malformed_dotenv_line(&text);
    }

    #[test]
    fn arbitrary_bytes_are_no_zip(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = check_zip_reader(Cursor::new(bytes), "f.zip");
    }

    #[test]
    fn damaged_zips_never_panic(
        entries in proptest::collection::btree_map("[a-z./]{1,12}", proptest::collection::vec(any::<u8>(), 0..64), 0..4),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let mut bytes = zip_of(&entries);
        for (at, value) in flips {
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] ^= value;
            }
        }
        let _ = check_zip_reader(Cursor::new(bytes), "f.zip");
    }
}

fn zip_of(entries: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        if w.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .is_ok()
        {
            let _ = w.write_all(data);
        }
    }
    w.finish().map(Cursor::into_inner).unwrap_or_default()
}
