//! Just enough of git's configuration to answer `git config --get <key>` for the deployer
//! annotation (`remote.origin.url`, `user.email`) without a `git` process.
//!
//! Why not ask git: the annotation also needs the worktree's status, which only git computes
//! well, and a run may spawn one `git` at most. Config lookup is file reading, so it is done
//! here. Why not `gix-config`: it would bring most of gitoxide's plumbing into a build that
//! needs two values.
//!
//! Covered, in git's order (a later value wins): the system file (`GIT_CONFIG_SYSTEM`,
//! skipped with `GIT_CONFIG_NOSYSTEM`), the global files (`GIT_CONFIG_GLOBAL`, else
//! `$XDG_CONFIG_HOME/git/config` then `~/.gitconfig`), the repository's `config` (in the
//! common directory of a linked worktree), `config.worktree` when `extensions.worktreeConfig`
//! is on, and `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_<n>`/`GIT_CONFIG_VALUE_<n>`; `include.path`
//! and `includeIf "gitdir:…"`/`"gitdir/i:…"`. Not covered: `onbranch:` and `hasconfig:`
//! conditions (treated as false).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Configuration entries as `(section[.subsection].name, value)`, in the order git reads them.
#[derive(Debug, Default)]
pub struct GitConfig {
    entries: Vec<(String, String)>,
}

/// The repository directories a lookup needs.
#[derive(Debug, Clone)]
pub struct GitDirs {
    /// `.git` (or a linked worktree's own git directory).
    pub git_dir: PathBuf,
    /// Where `config` lives: `git_dir`, or the main repository's for a linked worktree.
    pub common_dir: PathBuf,
}

const MAX_INCLUDE_DEPTH: usize = 10;

impl GitConfig {
    /// Reads every configuration source of the repository.
    pub fn load(dirs: &GitDirs, env: &BTreeMap<String, String>) -> Self {
        let mut config = GitConfig::default();
        let var = |k: &str| env.get(k).filter(|v| !v.is_empty());
        let home = var("HOME").map(PathBuf::from);
        let truthy = |v: &String| !matches!(v.to_ascii_lowercase().as_str(), "0" | "false" | "no");
        if !var("GIT_CONFIG_NOSYSTEM").is_some_and(truthy) {
            let system = var("GIT_CONFIG_SYSTEM")
                .map_or_else(|| PathBuf::from("/etc/gitconfig"), PathBuf::from);
            config.read_file(&system, dirs, home.as_deref(), 0);
        }
        match var("GIT_CONFIG_GLOBAL") {
            Some(global) => config.read_file(Path::new(global), dirs, home.as_deref(), 0),
            None => {
                let xdg = var("XDG_CONFIG_HOME")
                    .map(PathBuf::from)
                    .or_else(|| home.as_ref().map(|h| h.join(".config")));
                if let Some(xdg) = xdg {
                    config.read_file(&xdg.join("git/config"), dirs, home.as_deref(), 0);
                }
                if let Some(h) = &home {
                    config.read_file(&h.join(".gitconfig"), dirs, home.as_deref(), 0);
                }
            }
        }
        config.read_file(&dirs.common_dir.join("config"), dirs, home.as_deref(), 0);
        if config
            .get("extensions.worktreeconfig")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            config.read_file(
                &dirs.git_dir.join("config.worktree"),
                dirs,
                home.as_deref(),
                0,
            );
        }
        let count: usize = var("GIT_CONFIG_COUNT")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        for i in 0..count {
            if let (Some(k), Some(v)) = (
                env.get(&format!("GIT_CONFIG_KEY_{i}")),
                env.get(&format!("GIT_CONFIG_VALUE_{i}")),
            ) {
                config.entries.push((normalize_key(k), v.clone()));
            }
        }
        config
    }

    /// Parses one configuration text (for tests and for [`GitConfig::load`]).
    pub fn parse(text: &str) -> Self {
        let mut config = GitConfig::default();
        let dirs = GitDirs {
            git_dir: PathBuf::new(),
            common_dir: PathBuf::new(),
        };
        config.read_text(text, Path::new(""), &dirs, None, MAX_INCLUDE_DEPTH);
        config
    }

    /// The last value of `key` (`section.name` or `section.subsection.name`), as
    /// `git config --get` gives it.
    pub fn get(&self, key: &str) -> Option<&str> {
        let key = normalize_key(key);
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    fn read_file(&mut self, path: &Path, dirs: &GitDirs, home: Option<&Path>, depth: usize) {
        if depth > MAX_INCLUDE_DEPTH {
            return;
        }
        if let Ok(text) = std::fs::read_to_string(path) {
            let base = path.parent().unwrap_or(Path::new(""));
            self.read_text(&text, base, dirs, home, depth);
        }
    }

    fn read_text(
        &mut self,
        text: &str,
        base: &Path,
        dirs: &GitDirs,
        home: Option<&Path>,
        depth: usize,
    ) {
        let mut section = String::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let mut rest = line.trim_start();
            if let Some(header) = rest.strip_prefix('[') {
                let Some((name, after)) = parse_header(header) else {
                    continue;
                };
                section = name;
                rest = after.trim_start();
            }
            if rest.is_empty() || rest.starts_with(['#', ';']) {
                continue;
            }
            let name_len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(rest.len());
            let (name, after) = rest.split_at(name_len);
            if name.is_empty() || section.is_empty() {
                continue;
            }
            let after = after.trim_start();
            let value = match after.strip_prefix('=') {
                Some(v) => parse_value(v, &mut lines),
                None => "true".to_string(),
            };
            let key = format!("{section}.{}", name.to_ascii_lowercase());
            self.include(&key, &value, base, dirs, home, depth);
            self.entries.push((key, value));
        }
    }

    fn include(
        &mut self,
        key: &str,
        value: &str,
        base: &Path,
        dirs: &GitDirs,
        home: Option<&Path>,
        depth: usize,
    ) {
        let Some(section) = key.strip_suffix(".path") else {
            return;
        };
        let wanted = if section == "include" {
            true
        } else if let Some(condition) = section.strip_prefix("includeif.") {
            condition_holds(condition, base, dirs, home)
        } else {
            false
        };
        if wanted {
            let path = expand(value, base, home);
            self.read_file(&path, dirs, home, depth + 1);
        }
    }
}

/// `section.Sub.Name` → `section.Sub.name`: section and name are case-insensitive, the
/// subsection is not.
fn normalize_key(key: &str) -> String {
    let (first, rest) = key.split_once('.').unwrap_or((key, ""));
    match rest.rsplit_once('.') {
        Some((sub, name)) => format!(
            "{}.{sub}.{}",
            first.to_ascii_lowercase(),
            name.to_ascii_lowercase()
        ),
        None => format!(
            "{}.{}",
            first.to_ascii_lowercase(),
            rest.to_ascii_lowercase()
        ),
    }
}

/// `section "sub"]`, `section.sub]` or `section]` → the normalised section and what follows
/// the `]`.
fn parse_header(header: &str) -> Option<(String, &str)> {
    if let Some(quote) = header.find('"') {
        let name = header[..quote].trim().to_ascii_lowercase();
        let mut sub = String::new();
        let mut chars = header[quote + 1..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, next)) = chars.next() {
                        sub.push(next);
                    }
                }
                '"' => {
                    let after = &header[quote + 1 + i + 1..];
                    let after = after.trim_start().strip_prefix(']')?;
                    return Some((format!("{name}.{sub}"), after));
                }
                c => sub.push(c),
            }
        }
        return None;
    }
    let end = header.find(']')?;
    // The legacy `[section.sub]` form lower-cases the subsection too.
    Some((
        header[..end].trim().to_ascii_lowercase(),
        &header[end + 1..],
    ))
}

/// A value after `=`: quotes, escapes, comments and line continuations.
fn parse_value<'a>(first: &'a str, lines: &mut impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    let mut quoted = false;
    // Length of `out` up to its last character that trailing-space trimming must keep.
    let mut keep = 0;
    let mut line = first.trim_start();
    loop {
        let mut chars = line.chars();
        let mut continued = false;
        while let Some(c) = chars.next() {
            match c {
                '"' => quoted = !quoted,
                '\\' => match chars.next() {
                    None => continued = true,
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('b') => {
                        out.pop();
                    }
                    Some(other) => out.push(other),
                },
                '#' | ';' if !quoted => break,
                c => {
                    out.push(c);
                    if quoted || !c.is_whitespace() {
                        keep = out.len();
                    }
                    continue;
                }
            }
            keep = out.len();
        }
        if !continued {
            break;
        }
        match lines.next() {
            Some(next) => line = next,
            None => break,
        }
    }
    out.truncate(keep);
    out
}

/// `~/x` → `$HOME/x`; a relative path is taken from the including file's directory.
fn expand(path: &str, base: &Path, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ if Path::new(path).is_absolute() => PathBuf::from(path),
        _ => base.join(path),
    }
}

/// `gitdir:<pattern>` and `gitdir/i:<pattern>` (git-config(1), "Conditional includes").
fn condition_holds(condition: &str, base: &Path, dirs: &GitDirs, home: Option<&Path>) -> bool {
    let (pattern, case_insensitive) = if let Some(p) = condition.strip_prefix("gitdir:") {
        (p, false)
    } else if let Some(p) = condition.strip_prefix("gitdir/i:") {
        (p, true)
    } else {
        return false;
    };
    let mut pattern = if let Some(rest) = pattern.strip_prefix("./") {
        base.join(rest).display().to_string()
    } else if pattern.starts_with("~/") || pattern.starts_with('/') {
        expand(pattern, base, home).display().to_string()
    } else {
        format!("**/{pattern}")
    };
    if pattern.ends_with('/') {
        pattern.push_str("**");
    }
    let Ok(glob) = globset::GlobBuilder::new(&pattern)
        .literal_separator(true)
        .case_insensitive(case_insensitive)
        .build()
    else {
        return false;
    };
    let matcher = glob.compile_matcher();
    let real = dirs.git_dir.canonicalize().ok();
    matcher.is_match(&dirs.git_dir) || real.is_some_and(|r| matcher.is_match(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_subsections_values_and_comments() {
        let c = GitConfig::parse(
            "# top\n[user]\n\temail = dev@example.invalid ; comment\n[remote \"origin\"]\n  url = \"git@github.com:o/r.git\"\n[Remote \"Other\"] URL=x\n[core] bare\n",
        );
        assert_eq!(c.get("user.email"), Some("dev@example.invalid"));
        assert_eq!(c.get("remote.origin.url"), Some("git@github.com:o/r.git"));
        assert_eq!(c.get("REMOTE.Other.Url"), Some("x"));
        assert_eq!(c.get("remote.other.url"), None);
        assert_eq!(c.get("core.bare"), Some("true"));
    }

    #[test]
    fn later_values_win_and_escapes_and_continuations_apply() {
        let c = GitConfig::parse(
            "[user]\nemail = a\nemail = \"b # not a comment\"\n[x]\nv = one\\\n two\\tq \\\"z\\\"  \n",
        );
        assert_eq!(c.get("user.email"), Some("b # not a comment"));
        assert_eq!(c.get("x.v"), Some("one two\tq \"z\""));
    }

    #[test]
    fn includes_and_gitdir_conditions() -> std::io::Result<()> {
        let t = tempfile::tempdir()?;
        let root = t.path().canonicalize()?;
        let repo = root.join("work/repo");
        std::fs::create_dir_all(repo.join(".git"))?;
        std::fs::write(
            root.join("home.gitconfig"),
            "[user]\nemail = home@example.invalid\n[include]\npath = extra.inc\n[includeIf \"gitdir:~/work/\"]\npath = work.inc\n[includeIf \"gitdir:elsewhere/\"]\npath = never.inc\n",
        )?;
        std::fs::write(root.join("extra.inc"), "[remote \"origin\"]\nurl = u\n")?;
        std::fs::write(
            root.join("work.inc"),
            "[user]\nemail = work@example.invalid\n",
        )?;
        std::fs::write(root.join("never.inc"), "[user]\nemail = never\n")?;
        std::fs::write(repo.join(".git/config"), "[core]\nbare = false\n")?;
        let mut env = BTreeMap::new();
        env.insert("HOME".to_string(), root.display().to_string());
        env.insert(
            "GIT_CONFIG_GLOBAL".to_string(),
            root.join("home.gitconfig").display().to_string(),
        );
        env.insert("GIT_CONFIG_NOSYSTEM".to_string(), "1".to_string());
        env.insert("GIT_CONFIG_COUNT".to_string(), "1".to_string());
        env.insert("GIT_CONFIG_KEY_0".to_string(), "core.x".to_string());
        env.insert("GIT_CONFIG_VALUE_0".to_string(), "y".to_string());
        let dirs = GitDirs {
            git_dir: repo.join(".git"),
            common_dir: repo.join(".git"),
        };
        let c = GitConfig::load(&dirs, &env);
        assert_eq!(c.get("user.email"), Some("work@example.invalid"));
        assert_eq!(c.get("remote.origin.url"), Some("u"));
        assert_eq!(c.get("core.bare"), Some("false"));
        assert_eq!(c.get("core.x"), Some("y"));
        Ok(())
    }
}
