//! The book's command reference (issue 20, item 8) cannot drift from the CLI: one page per
//! command under `book/src/reference/`, each the command's own `--help`, listed in
//! `SUMMARY.md`. This test regenerates every page from the binary and fails when a committed
//! page differs; run it with `SLUICE_BLESS_REFERENCE=1` to rewrite them.

mod common;

use std::path::PathBuf;
use std::process::Stdio;

use common::ProjectTest;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn help(test: &ProjectTest, path: &[String]) -> Result<String, Box<dyn std::error::Error>> {
    let mut cmd = test.command(path);
    cmd.arg("--help")
        .env("COLUMNS", "100")
        // Values from the environment would show in `[env: …]`.
        .env_remove("SLUICE_LOCAL_DIR")
        .env_remove("DEPLOYMENT_CHUNK_SIZE")
        .stdin(Stdio::null());
    let out = cmd.output()?;
    assert!(out.status.success(), "{path:?} --help failed");
    Ok(String::from_utf8(out.stdout)?)
}

/// The subcommands a help text lists under `Commands:` (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // Wrapped descriptions are indented further than the names.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Every command path, depth first, with its help text.
fn walk(test: &ProjectTest, path: Vec<String>, out: &mut Vec<(Vec<String>, String)>) -> TestResult {
    let text = help(test, &path)?;
    let children = subcommands(&text);
    out.push((path.clone(), text));
    for child in children {
        let mut next = path.clone();
        next.push(child);
        walk(test, next, out)?;
    }
    Ok(())
}

fn page(path: &[String], help: &str) -> String {
    let title = if path.is_empty() {
        "sluice".to_string()
    } else {
        format!("sluice {}", path.join(" "))
    };
    format!(
        "# {title}\n\n<!-- Generated from `{title} --help` by tests/reference.rs; do not edit. -->\n\n```text\n{}\n```\n",
        help.trim_end()
    )
}

fn file_name(path: &[String]) -> String {
    if path.is_empty() {
        "sluice.md".to_string()
    } else {
        format!("sluice-{}.md", path.join("-"))
    }
}

#[test]
fn every_command_has_a_reference_page_that_matches_its_help() -> TestResult {
    let test = ProjectTest::empty();
    let mut commands = Vec::new();
    walk(&test, Vec::new(), &mut commands)?;
    let book = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let dir = book.join("reference");
    let bless = std::env::var_os("SLUICE_BLESS_REFERENCE").is_some();
    let summary = std::fs::read_to_string(book.join("SUMMARY.md"))?;
    let mut stale = Vec::new();
    let mut unlisted = Vec::new();
    for (path, text) in &commands {
        let name = file_name(path);
        let want = page(path, text);
        let file = dir.join(&name);
        let have = std::fs::read_to_string(&file).unwrap_or_default();
        if have != want {
            if bless {
                std::fs::create_dir_all(&dir)?;
                std::fs::write(&file, &want)?;
            } else {
                stale.push(name.clone());
            }
        }
        if !summary.contains(&format!("](reference/{name})")) {
            unlisted.push(name);
        }
    }
    assert!(
        unlisted.is_empty(),
        "SUMMARY.md does not list these reference pages: {unlisted:?}"
    );
    assert!(
        stale.is_empty(),
        "these reference pages differ from the CLI's help: {stale:?}; run \
         SLUICE_BLESS_REFERENCE=1 cargo test --test reference and commit book/src/reference/"
    );
    // No page for a command that is gone.
    let known: Vec<String> = commands.iter().map(|(p, _)| file_name(p)).collect();
    for entry in std::fs::read_dir(&dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        assert!(known.contains(&name), "reference/{name} names no command");
    }
    Ok(())
}

#[test]
fn the_deploy_flag_table_lists_every_deploy_flag() -> TestResult {
    let test = ProjectTest::empty();
    let text = help(&test, &["deploy".to_string()])?;
    let book = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("book/src/deploying.md"),
    )?;
    let table: String = book
        .lines()
        .filter(|l| l.starts_with("| `"))
        .collect::<Vec<_>>()
        .join("\n");
    let flags: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.trim_end_matches([',', '.', ')']))
        .filter(|w| !matches!(*w, "--help" | "--version"))
        .filter(|w| {
            w.chars()
                .skip(2)
                .all(|c| c.is_ascii_lowercase() || c == '-')
        })
        .collect();
    assert!(flags.contains(&"--hook"), "{flags:?}");
    let missing: Vec<&&str> = flags.iter().filter(|f| !table.contains(**f)).collect();
    assert!(
        missing.is_empty(),
        "book/src/deploying.md's flag table lacks {missing:?}"
    );
    Ok(())
}
