-- require-clean-git: refuse to deploy uncommitted changes to a protected namespace.
--
-- Use it with `hooks: [stock:require-clean-git]` in project.yml, with
-- `--hook stock:require-clean-git`, or copy this file into the project.
--
-- Settings (environment variables, read with sluice.env):
--   SLUICE_PROTECTED_NAMESPACE  a Lua pattern matched against the target namespace's name
--                               (default "prod"). Deploys to a matching namespace need a
--                               clean git tree; other namespaces are not checked.
--
-- Event: deploy:before. It runs `git status --porcelain` on the project directory; any
-- modified, staged or untracked file (outside .gitignore, and apart from the deploy records
-- in .deployed/) stops the deploy before anything is sent, and so does a project that is
-- not in a git work tree.
local sluice = require("sluice")

local pattern = sluice.env("SLUICE_PROTECTED_NAMESPACE") or "prod"

sluice.on("deploy:before", function(_, target)
  if target == nil or not string.find(target.namespace, pattern) then
    return nil
  end
  local status = sluice.exec("git", { "status", "--porcelain", "--", ".", ":(exclude).deployed" })
  if status.status ~= 0 then
    sluice.fail("cannot check the git tree before deploying to '" .. target.namespace .. "': " .. status.stderr)
  end
  if status.stdout ~= "" then
    local count = select(2, string.gsub(status.stdout, "\n", "\n"))
    sluice.fail(string.format(
      "refusing to deploy to '%s': the project has %d uncommitted change(s); commit or stash them first\n%s",
      target.namespace, count, status.stdout))
  end
  return nil
end)
