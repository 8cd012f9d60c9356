-- stamp-environment: tell every function which environment (production, stage, dev, local)
-- it runs in, under a variable name of the project's choosing, without putting that
-- knowledge in the function's source.
--
-- Use it with `hooks: [stock:stamp-environment]` in project.yml or sluice.toml, with
-- `--hook stock:stamp-environment`, or copy this file into the project.
--
-- Settings (environment variables, read with sluice.env):
--   SLUICE_ENVIRONMENT           the name to stamp. A deploy with `-e NAME` (or a branch
--                                pattern of sluice.toml) sets it to the environment's name;
--                                it can also be set by hand. There is no guess: a deploy
--                                without it fails, naming what to do.
--   SLUICE_ENVIRONMENT_VARIABLE  the variable that carries it (default DEPLOY_ENVIRONMENT).
--
-- Event: deploy:before. Every function gets `environment[<variable>] = <name>` (the function
-- reads it as an environment variable) and the annotation `environment = <name>` (visible in
-- the namespace's metadata). Values the project sets itself are kept. (Deploys to an
-- environment of sluice.toml give every function SLUICE_ENVIRONMENT by themselves; this hook
-- is for projects whose code reads another variable.)
local sluice = require("sluice")

local variable = sluice.env("SLUICE_ENVIRONMENT_VARIABLE") or "DEPLOY_ENVIRONMENT"

sluice.on("deploy:before", function(plan, target)
  local name = sluice.env("SLUICE_ENVIRONMENT")
  if name == nil or name == "" then
    local where = target and target.namespace or "the namespace"
    sluice.fail("no environment to stamp on the functions deployed to '" .. where
      .. "': deploy with -e NAME (an [environments.NAME] of sluice.toml), or set SLUICE_ENVIRONMENT")
  end
  for _, package in ipairs(plan.packages) do
    for _, fn in ipairs(package.functions) do
      fn.environment = fn.environment or {}
      if fn.environment[variable] == nil then
        fn.environment[variable] = name
      end
      fn.annotations = fn.annotations or {}
      if fn.annotations.environment == nil then
        fn.annotations.environment = name
      end
    end
  end
  sluice.log.info("stamped environment '" .. name .. "' on every function")
  return plan
end)
