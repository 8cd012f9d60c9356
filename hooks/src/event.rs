//! The events a hook can handle, in the order a deploy meets them.

use std::fmt;

/// One lifecycle event. The names are what `sluice.on(name, fn)` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Event {
    /// `watch:change(paths)`: a batch of `sluice watch`; may return a filtered list, or `false`
    /// to skip the deploy.
    WatchChange,
    /// `read:after(project)`: the project as read; may return an edited project.
    ReadAfter,
    /// `build:before(fn, ctx)`: once per function; `false` skips it, a table is its artifact.
    BuildBefore,
    /// `build:after(fn, artifact)`: once per built function; may return an edited artifact.
    BuildAfter,
    /// `plan:after(plan, target)`: sees what a deploy would change; `sluice.fail(...)` vetoes.
    PlanAfter,
    /// `deploy:before(plan, target)`: may return an edited project or `sluice.fail(...)`.
    DeployBefore,
    /// `deploy:after(result, target)`: sees the result.
    DeployAfter,
    /// `error(err)`: told about any phase's error.
    Error,
}

impl Event {
    /// Every event, in lifecycle order (the order `sluice hooks list` prints).
    pub const ALL: [Event; 8] = [
        Event::WatchChange,
        Event::ReadAfter,
        Event::BuildBefore,
        Event::BuildAfter,
        Event::PlanAfter,
        Event::DeployBefore,
        Event::DeployAfter,
        Event::Error,
    ];

    /// The name hook files use.
    pub fn name(self) -> &'static str {
        match self {
            Event::WatchChange => "watch:change",
            Event::ReadAfter => "read:after",
            Event::BuildBefore => "build:before",
            Event::BuildAfter => "build:after",
            Event::PlanAfter => "plan:after",
            Event::DeployBefore => "deploy:before",
            Event::DeployAfter => "deploy:after",
            Event::Error => "error",
        }
    }

    /// The event with this name.
    pub fn from_name(name: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.name() == name)
    }

    /// What a handler of this event may return, for error messages.
    pub fn contract(self) -> &'static str {
        match self {
            Event::WatchChange => {
                "nil (deploy every changed path), a list of paths (deploy only those) or false (skip the deploy)"
            }
            Event::ReadAfter => "nil or an edited project table",
            Event::BuildBefore => {
                "nil (run the builder), false (skip the function) or an artifact table { file = ..., runtime = ..., binary = ..., main = ... }"
            }
            Event::BuildAfter => "nil or an edited artifact table",
            Event::DeployBefore => {
                "nil or an edited project table (call sluice.fail(\"why\") to stop the deploy)"
            }
            Event::PlanAfter => "nothing (call sluice.fail(\"why\") to veto the deploy)",
            Event::DeployAfter | Event::Error => "nothing",
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for e in Event::ALL {
            assert_eq!(Event::from_name(e.name()), Some(e));
        }
        assert_eq!(Event::from_name("deploy"), None);
    }
}
