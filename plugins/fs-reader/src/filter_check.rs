//! `--include`/`--exclude` names that match nothing are errors that list what exists: the
//! original deployed nothing (or everything) and said "Nothing deployed" with exit 0, so a
//! typo in a CI filter went unnoticed.

use std::collections::BTreeSet;

use sluice_core::{EntityFilter, Flags, ReadContext};

use crate::error::{ReadError, Result};

/// `pkg`, `pkg/` or `pkg/fn` tokens of a filter list, as [`EntityFilter`] reads them.
fn tokens(list: Option<&str>) -> Vec<(String, Option<String>)> {
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .filter_map(|t| {
            let t = t.strip_suffix('/').unwrap_or(t);
            let mut parts = t.split('/');
            let pkg = parts.next().filter(|p| !p.is_empty())?.to_string();
            let action = parts.next().filter(|a| !a.is_empty()).map(str::to_string);
            Some((pkg, action))
        })
        .collect()
}

/// Reads the project again without filters and checks that every token of `--include` and
/// `--exclude` names a package or function that exists. Only called when a filter is given;
/// when the whole project does not read, nothing is checked.
pub fn check_filter_matches(location: &str, ctx: &ReadContext) -> Result<()> {
    let flags = Flags {
        include: None,
        exclude: None,
        ..ctx.flags.clone()
    };
    let mut unfiltered = ctx.clone();
    unfiltered.flags = flags;
    unfiltered.entity_filter = EntityFilter::default();
    unfiltered.feedback = std::sync::Arc::new(sluice_core::Silent);
    // The parts the filter leaves out may not read (a `build.cmd`-only function on Linux):
    // then what exists cannot be listed, and the filtered read stands as it is.
    let Ok(all) = crate::read_project(location, &unfiltered) else {
        return Ok(());
    };
    let packages: BTreeSet<&str> = all.packages.iter().map(|p| p.name.as_str()).collect();
    let functions: BTreeSet<String> = all
        .actions()
        .map(|(p, a)| format!("{}/{}", p.name, a.name))
        .collect();
    for (flag, list) in [
        ("--include", ctx.flags.include.as_deref()),
        ("--exclude", ctx.flags.exclude.as_deref()),
    ] {
        for (pkg, action) in tokens(list) {
            let (found, shown) = match &action {
                Some(a) => {
                    let key = format!("{pkg}/{a}");
                    (functions.contains(&key), key)
                }
                None => (packages.contains(pkg.as_str()), pkg.clone()),
            };
            if !found {
                let existing: Vec<&str> = if action.is_some() {
                    functions.iter().map(String::as_str).collect()
                } else {
                    packages.iter().copied().collect()
                };
                let what = if action.is_some() {
                    "function"
                } else {
                    "package"
                };
                let list = if existing.is_empty() {
                    "none".to_string()
                } else {
                    existing.join(", ")
                };
                return Err(ReadError::project_with_help(
                    format!("{flag} names the {what} '{shown}', which the project does not have"),
                    format!(
                        "the project's {what}s are: {list} (write a package as 'pkg' and a function as 'pkg/fn'; the default package is 'default')"
                    ),
                ));
            }
        }
    }
    Ok(())
}
