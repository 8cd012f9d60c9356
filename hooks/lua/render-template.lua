-- render-template: fill `{{NAME}}` placeholders in single-file functions from the
-- environment and deploy the rendered file instead of the source (a build done by a hook).
--
-- Use it with `hooks: [stock:render-template]` in project.yml, with
-- `--hook stock:render-template`, or copy this file into the project.
--
-- Event: build:before. For every single-file function (no build of its own, not a sequence)
-- whose source contains `{{NAME}}` placeholders (NAME made of letters, digits and `_`), each
-- placeholder is replaced by sluice.env(NAME); a variable that is not set fails that
-- function's build with a message naming it. The rendered file is written to
-- `.deployed/hooks/<package>/<file name>` and returned as the function's artifact, so no
-- builder runs. Functions without placeholders are left to the builders.
local sluice = require("sluice")

sluice.on("build:before", function(fn, ctx)
  if fn.build ~= nil or fn.sequence ~= nil or fn.file == nil then
    return nil
  end
  local source = sluice.read_file(fn.file)
  if not string.find(source, "{{", 1, true) then
    return nil
  end
  local missing = {}
  local rendered = string.gsub(source, "{{%s*([%w_]+)%s*}}", function(name)
    local value = sluice.env(name)
    if value == nil then
      missing[#missing + 1] = name
      return ""
    end
    return value
  end)
  if #missing > 0 then
    sluice.fail("cannot render " .. ctx.entity .. ": set " .. table.concat(missing, ", ")
      .. " in the environment")
  end
  local base = string.match(fn.file, "([^/\\]+)$")
  local out = sluice.write_file(".deployed/hooks/" .. ctx.package .. "/" .. base, rendered)
  return { file = out, runtime = fn.runtime, main = fn.main, binary = false }
end)
