//! The stock hooks shipped with sluice (the files in `hooks/lua/`), compiled in so that
//! `hooks: [stock:smoke-test]` or `--hook stock:smoke-test` works wherever sluice is installed.

/// How a hook list names a stock hook.
pub const PREFIX: &str = "stock:";

const STOCK: &[(&str, &str)] = &[
    (
        "render-template",
        include_str!("../lua/render-template.lua"),
    ),
    (
        "require-clean-git",
        include_str!("../lua/require-clean-git.lua"),
    ),
    ("smoke-test", include_str!("../lua/smoke-test.lua")),
    (
        "stamp-environment",
        include_str!("../lua/stamp-environment.lua"),
    ),
];

/// The Lua source of the stock hook `name`.
pub fn source(name: &str) -> Option<&'static str> {
    STOCK.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// The names of every stock hook, sorted.
pub fn names() -> Vec<&'static str> {
    STOCK.iter().map(|(n, _)| *n).collect()
}
