//! Merging the config with the file system (spec §4.1–§4.3).

use sluice_core::{ActionSpec, DeployStructure, Dict, PackageSpec, WebSetting};

/// Merges config packages into file-system packages by name: config members override, the
/// function lists merge by name, config-only packages come last.
pub fn merge_packages(fs: Vec<PackageSpec>, config: Vec<PackageSpec>) -> Vec<PackageSpec> {
    let mut out = fs;
    for cp in config {
        match out.iter_mut().find(|p| p.name == cp.name) {
            Some(p) => merge_package(p, cp),
            None => {
                // Added as is, but repeated function names still merge (yaml_alias).
                let mut p = PackageSpec {
                    actions: Vec::new(),
                    ..cp.clone()
                };
                merge_actions(&mut p, cp.actions);
                out.push(p);
            }
        }
    }
    out
}

fn merge_package(p: &mut PackageSpec, cp: PackageSpec) {
    macro_rules! over {
        ($($f:ident),*) => { $( if cp.$f.is_some() { p.$f = cp.$f; } )* };
    }
    over!(
        shared,
        web,
        environment,
        parameters,
        annotations,
        binding,
        deployed_during_build
    );
    merge_actions(p, cp.actions);
}

fn merge_actions(p: &mut PackageSpec, config: Vec<ActionSpec>) {
    for mut ca in config {
        ca.package = Some(p.name.clone());
        match p.actions.iter_mut().find(|a| a.name == ca.name) {
            Some(a) => overlay_action(a, ca),
            None => p.actions.push(ca),
        }
    }
}

/// `Object.assign(fs, config)`: every member the config sets wins.
pub fn overlay_action(a: &mut ActionSpec, c: ActionSpec) {
    macro_rules! over {
        ($($f:ident),*) => { $( if c.$f.is_some() { a.$f = c.$f; } )* };
    }
    over!(
        file,
        display_file,
        runtime,
        main,
        binary,
        zipped,
        package,
        build,
        sequence,
        web,
        web_secure,
        annotations,
        parameters,
        environment,
        limits,
        triggers,
        docker,
        remote_build,
        local_build,
        build_error
    );
}

/// Top-level `parameters` and `environment` reach the default package's functions
/// themselves (a deliberate departure from the original, which refused to deploy them): the
/// default package is no OpenWhisk package that could carry them. A function's own values
/// win over the top-level ones.
pub fn apply_top_level_to_default(packages: &mut [PackageSpec], project: &DeployStructure) {
    fn layered(top: Option<&Dict>, own: &mut Option<Dict>) {
        let Some(top) = top.filter(|t| !t.is_empty()) else {
            return;
        };
        let mut merged = top.clone();
        for (k, v) in own.take().unwrap_or_default() {
            merged.insert(k, v);
        }
        *own = Some(merged);
    }
    for p in packages.iter_mut().filter(|p| p.is_default()) {
        for a in &mut p.actions {
            layered(project.parameters.as_ref(), &mut a.parameters);
            layered(project.environment.as_ref(), &mut a.environment);
        }
    }
}

/// Every function without `web` gets its package's, else `true` (spec §4.3).
pub fn apply_web_defaults(packages: &mut [PackageSpec]) {
    for p in packages {
        let default = p.web.unwrap_or(WebSetting::On);
        for a in &mut p.actions {
            a.web.get_or_insert(default);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(name: &str) -> ActionSpec {
        ActionSpec {
            name: name.into(),
            ..ActionSpec::default()
        }
    }

    fn package(name: &str, actions: Vec<ActionSpec>) -> PackageSpec {
        PackageSpec {
            name: name.into(),
            actions,
            ..PackageSpec::default()
        }
    }

    #[test]
    fn config_overrides_and_adds() {
        let mut fs_hello = action("hello");
        fs_hello.runtime = Some("nodejs:default".into());
        fs_hello.file = Some("packages/p/hello.js".into());
        let fs = vec![PackageSpec {
            shared: Some(false),
            ..package("p", vec![fs_hello, action("other")])
        }];
        let mut c_hello = action("hello");
        c_hello.runtime = Some("nodejs:18".into());
        let config = vec![
            PackageSpec {
                shared: Some(true),
                ..package("p", vec![c_hello, action("seq")])
            },
            package("q", vec![action("x"), action("x")]),
        ];
        let mut merged = merge_packages(fs, config);
        apply_web_defaults(&mut merged);
        assert_eq!(merged.len(), 2);
        let p = &merged[0];
        assert_eq!(p.shared, Some(true));
        let names: Vec<&str> = p.actions.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["hello", "other", "seq"]);
        assert_eq!(p.actions[0].runtime.as_deref(), Some("nodejs:18"));
        assert_eq!(p.actions[0].file.as_deref(), Some("packages/p/hello.js"));
        assert_eq!(p.actions[2].package.as_deref(), Some("p"));
        assert_eq!(merged[1].actions.len(), 1);
        assert_eq!(merged[1].actions[0].package.as_deref(), Some("q"));
        assert!(
            merged
                .iter()
                .flat_map(|p| &p.actions)
                .all(|a| a.web == Some(WebSetting::On))
        );
    }

    #[test]
    fn package_web_is_the_default_for_its_functions() {
        let mut explicit = action("b");
        explicit.web = Some(WebSetting::Raw);
        let mut ps = vec![PackageSpec {
            web: Some(WebSetting::Off),
            ..package("p", vec![action("a"), explicit])
        }];
        apply_web_defaults(&mut ps);
        assert_eq!(ps[0].actions[0].web, Some(WebSetting::Off));
        assert_eq!(ps[0].actions[1].web, Some(WebSetting::Raw));
    }
}
