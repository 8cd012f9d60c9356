//! The hook runtime with a real Lua state: events and their contracts, the `sluice` module,
//! the sandbox, the limits and the errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use sluice_core::{
    ActionSpec, Artifact, BuildDecision, BuildStatus, Credentials, DeployResponse, DeployStructure,
    Error, Hooks, PackageSpec, Recorder, Target,
};
use sluice_hooks::{HookEnv, Limits, LuaHooks};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A project directory with the given files.
fn project(files: &[(&str, &str)]) -> Result<tempfile::TempDir, std::io::Error> {
    let dir = tempfile::tempdir()?;
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(dir)
}

fn env_with(recorder: &Arc<Recorder>, vars: &[(&str, &str)]) -> HookEnv {
    let mut env = HookEnv::new(recorder.clone());
    env.env = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<BTreeMap<_, _>>();
    env
}

fn load(dir: &Path, files: &[&str], env: HookEnv) -> sluice_core::Result<LuaHooks> {
    let files: Vec<String> = files.iter().map(|f| f.to_string()).collect();
    LuaHooks::load(dir, &files, &[], env)
}

fn two_functions() -> DeployStructure {
    DeployStructure {
        packages: vec![PackageSpec {
            name: "demo".into(),
            actions: vec![
                ActionSpec {
                    name: "a".into(),
                    file: Some("packages/demo/a.js".into()),
                    runtime: Some("nodejs:18".into()),
                    ..Default::default()
                },
                ActionSpec {
                    name: "b".into(),
                    file: Some("packages/demo/b.js".into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn target(namespace: &str) -> Target {
    Target::new("https://example.test", namespace, Credentials::default())
}

fn hook_error(e: Error) -> (String, Option<usize>, String, String) {
    match e {
        Error::Hook {
            file,
            line,
            event,
            message,
        } => (file, line, event, message),
        other => panic!("expected a hook error, got {other:?}"),
    }
}

#[test]
fn read_after_handlers_edit_the_project_in_registration_order() -> TestResult {
    let dir = project(&[
        (
            "hooks/first.lua",
            r#"local sluice = require("sluice")
sluice.on("read:after", function(project)
  project.packages[1].functions[1].parameters = { order = "first" }
  return project
end)"#,
        ),
        (
            "hooks/second.lua",
            r#"local sluice = require("sluice")
sluice.on("read:after", function(project)
  local fn = project.packages[1].functions[1]
  fn.parameters.order = fn.parameters.order .. ",second"
  table.remove(project.packages[1].functions, 2)
  project.parameters = { count = #project.packages[1].functions }
  return project
end)
sluice.on("read:after", function() return nil end)"#,
        ),
    ])?;
    let recorder = Arc::new(Recorder::default());
    let hooks = load(
        dir.path(),
        &["hooks/first.lua", "hooks/second.lua"],
        env_with(&recorder, &[]),
    )?;
    let out = hooks.read_after(two_functions())?;
    let actions: Vec<&str> = out.packages[0]
        .actions
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(actions, ["a"]);
    assert_eq!(
        out.packages[0].actions[0]
            .parameters
            .as_ref()
            .and_then(|p| p.get("order")),
        Some(&json!("first,second"))
    );
    assert_eq!(
        out.parameters.as_ref().and_then(|p| p.get("count")),
        Some(&json!(1))
    );
    // Untouched members survive the round trip through Lua.
    assert_eq!(
        out.packages[0].actions[0].runtime.as_deref(),
        Some("nodejs:18")
    );

    let listing = hooks.listing()?;
    let read_after = &listing[1];
    assert_eq!(read_after.event, "read:after");
    let where_: Vec<String> = read_after
        .handlers
        .iter()
        .map(|h| format!("{}:{}", h.file, h.line.unwrap_or(0)))
        .collect();
    assert_eq!(
        where_,
        [
            "hooks/first.lua:2",
            "hooks/second.lua:2",
            "hooks/second.lua:9"
        ]
    );
    Ok(())
}

#[test]
fn for_project_loads_the_files_named_in_the_project_then_the_command_line() -> TestResult {
    let dir = project(&[
        (
            "hooks/p.lua",
            r#"require("sluice").on("read:after", function(p) p.parameters = { by = "project" } return p end)"#,
        ),
        (
            "cli.lua",
            r#"require("sluice").on("read:after", function(p) p.parameters.by = p.parameters.by .. "+cli" return p end)"#,
        ),
    ])?;
    let recorder = Arc::new(Recorder::default());
    let hooks = LuaHooks::for_project(
        dir.path(),
        &[dir.path().join("cli.lua")],
        env_with(&recorder, &[]),
    )?;
    let mut p = two_functions();
    p.hooks = Some(vec!["hooks/p.lua".into()]);
    let out = hooks.read_after(p)?;
    assert_eq!(
        out.parameters.as_ref().and_then(|p| p.get("by")),
        Some(&json!("project+cli"))
    );
    Ok(())
}

#[test]
fn build_before_skips_supplies_or_runs() -> TestResult {
    let dir = project(&[(
        "hooks/build.lua",
        r#"local sluice = require("sluice")
sluice.on("build:before", function(fn, ctx)
  if fn.name == "skip" then return false end
  if fn.name == "own" then
    return { file = "dist/" .. ctx.entity .. ".js", runtime = "nodejs:18", main = "run" }
  end
  return nil
end)
sluice.on("build:after", function(fn, artifact)
  artifact.main = "edited"
  return artifact
end)"#,
    )])?;
    let recorder = Arc::new(Recorder::default());
    let hooks = load(dir.path(), &["hooks/build.lua"], env_with(&recorder, &[]))?;
    let named = |n: &str| ActionSpec {
        name: n.into(),
        ..Default::default()
    };
    assert_eq!(
        hooks.build_before("p", &named("skip"))?,
        BuildDecision::Skip
    );
    assert_eq!(
        hooks.build_before("p", &named("plain"))?,
        BuildDecision::Run
    );
    match hooks.build_before("p", &named("own"))? {
        BuildDecision::Use(a) => {
            assert_eq!(a.file, "dist/p/own.js");
            assert_eq!(a.runtime.as_deref(), Some("nodejs:18"));
            assert_eq!(a.main.as_deref(), Some("run"));
            assert!(!a.binary);
        }
        other => panic!("expected an artifact, got {other:?}"),
    }
    let artifact = Artifact {
        file: "x.zip".into(),
        runtime: None,
        binary: true,
        zipped: true,
        main: None,
        status: BuildStatus::Built,
    };
    let edited = hooks.build_after("p", &named("plain"), artifact)?;
    assert_eq!(edited.main.as_deref(), Some("edited"));
    assert!(edited.zipped);
    Ok(())
}

#[test]
fn bad_return_values_name_the_handler_and_the_contract() -> TestResult {
    let dir = project(&[(
        "h.lua",
        "local sluice = require('sluice')\n\nsluice.on('build:before', function() return 42 end)\nsluice.on('read:after', function() return { packages = 'nope' } end)\n",
    )])?;
    let recorder = Arc::new(Recorder::default());
    let hooks = load(dir.path(), &["h.lua"], env_with(&recorder, &[]))?;
    let e = hooks
        .build_before("p", &ActionSpec::default())
        .expect_err("a number is not a decision");
    let (file, line, event, message) = hook_error(e);
    assert_eq!(
        (file.as_str(), line, event.as_str()),
        ("h.lua", Some(3), "build:before")
    );
    assert!(message.contains("returned a number"), "{message}");
    assert!(message.contains("false (skip the function)"), "{message}");

    let e = hooks
        .read_after(two_functions())
        .expect_err("packages must be a list");
    let (file, line, event, message) = hook_error(e);
    assert_eq!(
        (file.as_str(), line, event.as_str()),
        ("h.lua", Some(4), "read:after")
    );
    assert!(message.contains("not a valid project"), "{message}");
    Ok(())
}

#[test]
fn deploy_before_can_refuse_with_sluice_fail_at_its_line() -> TestResult {
    let dir = project(&[(
        "hooks/guard.lua",
        "local sluice = require('sluice')\nsluice.on('deploy:before', function(plan, target)\n  if target.namespace == 'prod' then\n    sluice.fail('not on a Friday')\n  end\n  plan.parameters = { ns = sluice.target.namespace }\n  return plan\nend)\n",
    )])?;
    let recorder = Arc::new(Recorder::default());
    let hooks = load(dir.path(), &["hooks/guard.lua"], env_with(&recorder, &[]))?;
    let e = hooks
        .deploy_before(two_functions(), &target("prod"))
        .expect_err("refused");
    assert_eq!(
        e.to_string(),
        "hook hooks/guard.lua:4 (deploy:before): not on a Friday"
    );
    let ok = hooks.deploy_before(two_functions(), &target("dev"))?;
    assert_eq!(
        ok.parameters.as_ref().and_then(|p| p.get("ns")),
        Some(&json!("dev"))
    );
    Ok(())
}

#[test]
fn syntax_errors_name_the_file_and_line() -> TestResult {
    let dir = project(&[(
        "hooks/broken.lua",
        "local sluice = require('sluice')\n\nsluice.on('read:after', function(p)\n  return p +\nend)\n",
    )])?;
    let recorder = Arc::new(Recorder::default());
    let e = load(dir.path(), &["hooks/broken.lua"], env_with(&recorder, &[]))
        .expect_err("does not parse");
    let (file, line, event, message) = hook_error(e);
    assert_eq!(
        (file.as_str(), line, event.as_str()),
        ("hooks/broken.lua", Some(5), "load")
    );
    assert!(message.contains("unexpected symbol"), "{message}");
    Ok(())
}

#[test]
fn runtime_errors_name_the_file_and_line_of_the_failing_code() -> TestResult {
    let dir = project(&[
        (
            "hooks/util.lua",
            "local M = {}\nfunction M.boom(x)\n  return x.missing.field\nend\nreturn M\n",
        ),
        (
            "hooks/main.lua",
            "local sluice = require('sluice')\nlocal util = require('hooks.util')\nsluice.on('deploy:after', function(r) return util.boom(r) end)\n",
        ),
    ])?;
    let recorder = Arc::new(Recorder::default());
    let hooks = load(dir.path(), &["hooks/main.lua"], env_with(&recorder, &[]))?;
    let e = hooks
        .deploy_after(&DeployResponse::default(), &target("ns"))
        .expect_err("indexes nil");
    let (file, line, event, message) = hook_error(e);
    assert_eq!(
        (file.as_str(), line, event.as_str()),
        ("hooks/util.lua", Some(3), "deploy:after")
    );
    assert!(
        message.contains("attempt to index a nil value"),
        "{message}"
    );
    Ok(())
}

#[test]
fn an_endless_loop_is_stopped_by_the_instruction_limit() -> TestResult {
    let dir = project(&[(
        "spin.lua",
        "local sluice = require('sluice')\nsluice.on('read:after', function(p)\n  while true do\n    pcall(function() while true do end end)\n  end\nend)\n",
    )])?;
    let recorder = Arc::new(Recorder::default());
    let mut env = env_with(&recorder, &[]);
    env.limits = Limits {
        instructions: 2_000_000,
        ..Limits::default()
    };
    let hooks = load(dir.path(), &["spin.lua"], env)?;
    let e = hooks.read_after(two_functions()).expect_err("stopped");
    let (file, line, event, message) = hook_error(e);
    assert_eq!((file.as_str(), event.as_str()), ("spin.lua", "read:after"));
    assert!(matches!(line, Some(3) | Some(4)), "{line:?}");
    assert!(
        message.contains("more than 2000000 Lua instructions"),
        "{message}"
    );
    // The budget is per call: the runtime still answers.
    assert_eq!(hooks.listing()?.len(), 8);
    Ok(())
}

#[test]
fn the_default_limit_stops_a_loop_at_load_time() -> TestResult {
    let dir = project(&[("spin.lua", "local n = 0\nwhile true do n = n + 1 end\n")])?;
    let recorder = Arc::new(Recorder::default());
    let e = load(dir.path(), &["spin.lua"], env_with(&recorder, &[])).expect_err("stopped");
    let (file, line, event, message) = hook_error(e);
    assert_eq!(
        (file.as_str(), line, event.as_str()),
        ("spin.lua", Some(2), "load")
    );
    assert!(message.contains("an endless loop?"), "{message}");
    Ok(())
}

#[test]
fn the_memory_limit_stops_a_hook_that_grows_without_end() -> TestResult {
    let dir = project(&[(
        "grow.lua",
        "require('sluice').on('read:after', function()\n  local t = {}\n  local s = string.rep('x', 1024)\n  for i = 1, 1e9 do t[i] = s .. i end\nend)\n",
    )])?;
    let recorder = Arc::new(Recorder::default());
    let mut env = env_with(&recorder, &[]);
    env.limits = Limits {
        memory: 8 * 1024 * 1024,
        ..Limits::default()
    };
    let hooks = load(dir.path(), &["grow.lua"], env)?;
    let e = hooks
        .read_after(two_functions())
        .expect_err("out of memory");
    let (file, _, event, message) = hook_error(e);
    assert_eq!((file.as_str(), event.as_str()), ("grow.lua", "read:after"));
    assert!(
        message.contains("ran out of memory (the limit is 8 MiB)"),
        "{message}"
    );
    Ok(())
}

#[test]
fn the_standard_library_is_a_safe_subset() -> TestResult {
    let dir = project(&[(
        "probe.lua",
        r#"local sluice = require("sluice")
sluice.on("read:after", function(p)
  local seen = {
    io = io == nil, debug = debug == nil, dofile = dofile == nil, loadfile = loadfile == nil,
    execute = os.execute == nil, getenv = os.getenv == nil, remove = os.remove == nil,
    loadlib = package.loadlib == nil, dump = string.dump == nil,
    time = type(os.time()) == "number", date = type(os.date("%Y")) == "string",
    binary = select(2, load("\27Lua")) ~= nil,
    text = load("return 1 + 1")() == 2,
    cmodule = not pcall(require, "socket.core"),
  }
  p.parameters = seen
  return p
end)"#,
    )])?;
    let recorder = Arc::new(Recorder::default());
    let hooks = load(dir.path(), &["probe.lua"], env_with(&recorder, &[]))?;
    let out = hooks.read_after(two_functions())?;
    let seen = out.parameters.unwrap_or_default();
    assert_eq!(seen.len(), 14);
    for (name, ok) in &seen {
        assert_eq!(ok, &json!(true), "{name}");
    }
    Ok(())
}

#[test]
fn the_module_reads_files_in_the_project_only() -> TestResult {
    let outside = project(&[("secret.txt", "s3cret")])?;
    let dir = project(&[
        (
            "data/config.json",
            r#"{"greeting": "hi", "list": [1, 2], "none": null}"#,
        ),
        ("data/config.yml", "greeting: hello\nlist: [3]\n"),
        (
            "io.lua",
            r#"local sluice = require("sluice")
sluice.on("read:after", function(p)
  local cfg = sluice.json.decode(sluice.read_file("data/config.json"))
  local y = sluice.yaml.decode(sluice.read_file("data/config.yml"))
  local escaped = pcall(sluice.read_file, "../x")
  local linked = pcall(sluice.read_file, "out/secret.txt")
  local written = sluice.write_file("build/out.txt", "made")
  p.parameters = {
    greeting = cfg.greeting, second = cfg.list[2], none = cfg.none == sluice.json.null,
    yaml = y.greeting .. y.list[1], escaped = escaped, linked = linked,
    written = written, back = sluice.read_file(written),
    encoded = sluice.json.encode({ a = 1 }),
    env = sluice.env("GREETING"), unset = sluice.env("NOT_SET") == nil,
    dir = sluice.project_dir ~= nil, version = sluice.version,
    has_target = sluice.target ~= nil,
  }
  return p
end)"#,
        ),
    ])?;
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path(), dir.path().join("out"))?;
    let recorder = Arc::new(Recorder::default());
    let hooks = load(
        dir.path(),
        &["io.lua"],
        env_with(&recorder, &[("GREETING", "hey")]),
    )?;
    let p = hooks
        .read_after(two_functions())?
        .parameters
        .unwrap_or_default();
    let expected = json!({
        "greeting": "hi", "second": 2, "none": true, "yaml": "hello3", "escaped": false,
        "linked": !cfg!(unix), "written": "build/out.txt", "back": "made", "encoded": "{\"a\":1}",
        "env": "hey", "unset": true, "dir": true, "version": sluice_core::HOST_VERSION,
        "has_target": false,
    });
    assert_eq!(serde_json::Value::Object(p), expected);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("build/out.txt"))?,
        "made"
    );
    Ok(())
}

#[test]
fn exec_runs_a_process_and_log_goes_through_feedback() -> TestResult {
    let dir = project(&[
        ("sub/marker", ""),
        (
            "exec.lua",
            r#"local sluice = require("sluice")
sluice.on("read:after", function(p)
  local r = sluice.exec("sh", { "-c", "ls; echo oops >&2; echo $GREETING; exit 3" }, { cwd = "sub", env = { GREETING = "hi" } })
  sluice.log.info("status", r.status)
  sluice.log.warn("stderr " .. r.stderr)
  print("stdout", r.stdout)
end)"#,
        ),
    ])?;
    let recorder = Arc::new(Recorder::default());
    let hooks = load(dir.path(), &["exec.lua"], env_with(&recorder, &[]))?;
    hooks.read_after(two_functions())?;
    let lines: Vec<String> = recorder
        .lines()
        .into_iter()
        .map(|(level, l)| format!("{level:?} {l}"))
        .collect();
    assert_eq!(
        lines,
        [
            "Progress status\t3",
            "Warn stderr oops\n",
            "Progress stdout\tmarker\nhi\n"
        ]
    );
    Ok(())
}

#[test]
fn error_handlers_hear_about_failures_and_unknown_events_are_refused() -> TestResult {
    let dir = project(&[(
        "e.lua",
        "local sluice = require('sluice')\nsluice.on('error', function(err) sluice.log.warn('saw: ' .. err.message) end)\n",
    )])?;
    let recorder = Arc::new(Recorder::default());
    let hooks = load(dir.path(), &["e.lua"], env_with(&recorder, &[]))?;
    hooks.on_error(&Error::project("no packages"));
    assert_eq!(recorder.warnings(), ["saw: no packages"]);

    let dir = project(&[(
        "bad.lua",
        "local sluice = require('sluice')\nsluice.on('deploy', function() end)\n",
    )])?;
    let e = load(dir.path(), &["bad.lua"], env_with(&recorder, &[])).expect_err("unknown event");
    assert_eq!(
        e.to_string(),
        "hook bad.lua:2 (load): unknown event 'deploy'; the events are watch:change, read:after, build:before, build:after, plan:after, deploy:before, deploy:after, error"
    );
    Ok(())
}

#[test]
fn hook_files_listed_by_the_project_must_stay_inside_it() -> TestResult {
    let outside = project(&[("evil.lua", "")])?;
    let dir = project(&[])?;
    let recorder = Arc::new(Recorder::default());
    let rel = PathBuf::from("..")
        .join(outside.path().file_name().unwrap_or_default())
        .join("evil.lua");
    let e = load(
        dir.path(),
        &[&rel.display().to_string()],
        env_with(&recorder, &[]),
    )
    .expect_err("escapes");
    assert!(
        e.to_string().contains("outside the project directory"),
        "{e}"
    );
    let e = load(dir.path(), &["stock:nope"], env_with(&recorder, &[]))
        .expect_err("no such stock hook");
    assert!(
        e.to_string().contains(
            "the stock hooks are render-template, require-clean-git, smoke-test, stamp-environment"
        ),
        "{e}"
    );
    Ok(())
}

#[test]
fn build_hooks_answer_calls_from_many_threads() -> TestResult {
    let dir = project(&[(
        "count.lua",
        "local sluice = require('sluice')\nlocal n = 0\nsluice.on('build:before', function(fn) n = n + 1 if n % 2 == 0 then return false end end)\n",
    )])?;
    let recorder = Arc::new(Recorder::default());
    let hooks = Arc::new(load(dir.path(), &["count.lua"], env_with(&recorder, &[]))?);
    let skipped = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let hooks = hooks.clone();
                s.spawn(move || {
                    (0..25)
                        .filter(|_| {
                            matches!(
                                hooks.build_before("p", &ActionSpec::default()),
                                Ok(BuildDecision::Skip)
                            )
                        })
                        .count()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(0))
            .sum::<usize>()
    });
    assert_eq!(skipped, 100);
    Ok(())
}
