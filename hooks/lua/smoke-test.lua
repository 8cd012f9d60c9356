-- smoke-test: invoke functions right after they are deployed and fail the deploy when one
-- of them fails.
--
-- Use it with `hooks: [stock:smoke-test]` in project.yml, with `--hook stock:smoke-test`,
-- or copy this file into the project.
--
-- Settings (environment variables, read with sluice.env):
--   SLUICE_SMOKE_TEST  comma-separated functions to invoke (`pkg/name`, or `name` in the
--                      default package). When unset, every function this deploy sent.
--
-- Event: deploy:after. Each function is invoked with no parameters through sluice.invoke; a
-- failed activation or a result with an `error` member is a failure. The failures are
-- reported together (as a failure of the deploy, after everything was deployed).
local sluice = require("sluice")

local function listed(result)
  local names = {}
  local setting = sluice.env("SLUICE_SMOKE_TEST")
  if setting ~= nil and setting ~= "" then
    for name in string.gmatch(setting, "[^,%s]+") do
      names[#names + 1] = name
    end
  else
    for _, success in ipairs(result.successes) do
      if success.kind == "action" then
        names[#names + 1] = success.name
      end
    end
  end
  return names
end

local function failure_of(outcome)
  local result = outcome.result
  if type(result) == "table" and result.error ~= nil then
    local err = result.error
    return type(err) == "string" and err or sluice.json.encode(err)
  end
  if not outcome.ok then
    return sluice.json.encode(result)
  end
  return nil
end

sluice.on("deploy:after", function(result)
  local failed = {}
  for _, name in ipairs(listed(result)) do
    local why = failure_of(sluice.invoke(name, {}))
    if why == nil then
      sluice.log.info("smoke test passed: " .. name)
    else
      failed[#failed + 1] = name .. " (" .. why .. ")"
    end
  end
  if #failed > 0 then
    sluice.fail("smoke test failed: " .. table.concat(failed, "; "))
  end
end)
