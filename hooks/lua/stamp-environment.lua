-- stamp-environment: tell every function which environment (production, stage, dev, local)
-- it runs in, without putting that knowledge in the function's source.
--
-- Use it with `hooks: [stock:stamp-environment]` in project.yml, with
-- `--hook stock:stamp-environment`, or copy this file into the project.
--
-- Settings (environment variables, read with sluice.env):
--   SLUICE_ENVIRONMENT           the name to stamp; when unset it is derived from the target:
--                                the embedded local namespace is "local", a namespace whose
--                                name contains "prod" is "production", one containing "stag"
--                                is "stage", any other is "dev".
--   SLUICE_ENVIRONMENT_VARIABLE  the variable that carries it (default DEPLOY_ENVIRONMENT).
--
-- Event: deploy:before. Every function gets `environment[<variable>] = <name>` (the function
-- reads it as an environment variable) and the annotation `environment = <name>` (visible in
-- the namespace's metadata). Values the project sets itself are kept.
local sluice = require("sluice")

local variable = sluice.env("SLUICE_ENVIRONMENT_VARIABLE") or "DEPLOY_ENVIRONMENT"

local function environment_of(target)
  local forced = sluice.env("SLUICE_ENVIRONMENT")
  if forced ~= nil and forced ~= "" then
    return forced
  end
  if target == nil or target["local"] then
    return "local"
  end
  local ns = string.lower(target.namespace)
  if string.find(ns, "prod", 1, true) then
    return "production"
  elseif string.find(ns, "stag", 1, true) then
    return "stage"
  end
  return "dev"
end

sluice.on("deploy:before", function(plan, target)
  local name = environment_of(target)
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
