//! `--include` / `--exclude` filtering of packages and functions (spec §5).

use std::collections::BTreeSet;

/// Which packages and functions a command works on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityFilter {
    has_include: bool,
    included_packages: BTreeSet<String>,
    included_actions: BTreeSet<String>,
    excluded_packages: BTreeSet<String>,
    excluded_actions: BTreeSet<String>,
}

fn tokens(list: Option<&str>) -> impl Iterator<Item = (String, Option<String>)> + '_ {
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
}

impl EntityFilter {
    /// Builds the filter from the comma-separated `--include` and `--exclude` lists.
    pub fn new(include: Option<&str>, exclude: Option<&str>) -> Self {
        let mut me = EntityFilter {
            has_include: include.is_some_and(|i| !i.trim().is_empty()),
            ..Default::default()
        };
        for (pkg, action) in tokens(include) {
            match action {
                Some(a) => me.included_actions.insert(format!("{pkg}/{a}")),
                None => me.included_packages.insert(pkg),
            };
        }
        for (pkg, action) in tokens(exclude) {
            match action {
                Some(a) => me.excluded_actions.insert(format!("{pkg}/{a}")),
                None => me.excluded_packages.insert(pkg),
            };
        }
        me
    }

    /// Whether a package is read at all.
    pub fn is_package_included(&self, pkg: &str) -> bool {
        if self.included_packages.contains(pkg) {
            return true;
        }
        if !self.has_include && !self.excluded_packages.contains(pkg) {
            return true;
        }
        let prefix = format!("{pkg}/");
        self.included_actions.iter().any(|a| a.starts_with(&prefix))
    }

    /// Whether one function is included (`default/<name>` for the default package).
    pub fn is_action_included(&self, pkg: &str, action: &str) -> bool {
        let key = format!("{pkg}/{action}");
        if self.included_actions.contains(&key) {
            return true;
        }
        if self.excluded_packages.contains(pkg) || self.excluded_actions.contains(&key) {
            return false;
        }
        !self.has_include || self.included_packages.contains(pkg)
    }

    /// True when no filter is active at all: then a deploy's versions replace the old ones.
    ///
    /// (The original also said "everything" when only `--exclude` was given, and dropped
    /// the excluded entities' versions; sluice merges whenever any filter is active.)
    pub fn is_including_everything(&self) -> bool {
        !self.has_include && self.excluded_packages.is_empty() && self.excluded_actions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_filter_includes_everything() {
        let i = EntityFilter::new(None, None);
        assert!(i.is_including_everything());
        assert!(i.is_package_included("p"));
        assert!(i.is_action_included("p", "a"));
    }

    #[test]
    fn exclude_a_package() {
        let i = EntityFilter::new(None, Some("test-ie-admin"));
        assert!(!i.is_including_everything());
        assert!(!i.is_package_included("test-ie-admin"));
        assert!(!i.is_action_included("test-ie-admin", "flush"));
        assert!(i.is_action_included("test-ie-printer", "get"));
    }

    #[test]
    fn include_one_action() {
        let i = EntityFilter::new(Some("test-ie-printer/notify"), None);
        assert!(i.is_package_included("test-ie-printer"));
        assert!(!i.is_package_included("test-ie-admin"));
        assert!(i.is_action_included("test-ie-printer", "notify"));
        assert!(!i.is_action_included("test-ie-printer", "update"));
    }

    #[test]
    fn include_and_exclude_together() {
        let i = EntityFilter::new(
            Some("test-ie-admin/,test-ie-printer"),
            Some("test-ie-printer/notify,test-ie-printer/update"),
        );
        assert!(i.is_action_included("test-ie-admin", "flush"));
        for a in ["get", "create", "list"] {
            assert!(i.is_action_included("test-ie-printer", a));
        }
        for a in ["notify", "update"] {
            assert!(!i.is_action_included("test-ie-printer", a));
        }
        assert!(!i.is_package_included("other"));
    }

    #[test]
    fn default_package_is_addressed_by_name() {
        let i = EntityFilter::new(Some("default/hello"), None);
        assert!(i.is_action_included("default", "hello"));
        assert!(!i.is_action_included("default", "bye"));
    }
}
