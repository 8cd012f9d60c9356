# sluice local runner: the launcher for python:* functions.
#
# sluice starts `python3 -I -S -u python.py` with the action's code materialised in
# SLUICE_RUNNER_CODE_DIR (`__main__.py` at its root, optionally `virtualenv/`) and the init
# environment exported. The protocol (one JSON object per line over a loopback TCP connection)
# is the one described in node.js next to this file; the user's stdout and stderr become
# activation logs.
#
# Isolation: -I leaves out the user's site-packages, PYTHONPATH and this file's directory, and
# -S the host's site-packages, so sys.path is the standard library, the code directory and the
# zip's virtualenv, which is what the cloud runtime has. -S also skips the builtins `site`
# defines (exit, quit, help…); they are put back below, as user code may use them.
import asyncio
import glob
import inspect
import json
import os
import site
import socket
import sys
import time
import traceback
import importlib.util

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"


class InitError(Exception):
    pass


def take_env(name, default=""):
    return os.environ.pop(name, default)


PORT = int(take_env("SLUICE_RUNNER_PORT", "0"))
TOKEN = take_env("SLUICE_RUNNER_TOKEN")
CODE_DIR = take_env("SLUICE_RUNNER_CODE_DIR")
take_env("SLUICE_RUNNER_BINARY")
MAIN = take_env("SLUICE_RUNNER_MAIN") or "main"


def restore_site_builtins():
    for name in ("setquit", "setcopyright", "sethelper"):
        fn = getattr(site, name, None)
        if callable(fn):
            fn()


def activate_virtualenv(code_dir):
    venv = os.path.join(code_dir, "virtualenv")
    if not os.path.isdir(venv):
        return
    activate = os.path.join(venv, "bin", "activate_this.py")
    if os.path.isfile(activate):
        with open(activate) as f:
            exec(compile(f.read(), activate, "exec"), {"__file__": activate})
        return
    for packages in sorted(glob.glob(os.path.join(venv, "lib", "python*", "site-packages"))):
        site.addsitedir(packages)


def load_main():
    restore_site_builtins()
    os.chdir(CODE_DIR)
    sys.path.insert(0, CODE_DIR)
    activate_virtualenv(CODE_DIR)
    path = os.path.join(CODE_DIR, "__main__.py")
    if not os.path.isfile(path):
        raise InitError("Zip file does not include __main__.py")
    spec = importlib.util.spec_from_file_location("main__", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["main__"] = module
    spec.loader.exec_module(module)
    fn = getattr(module, MAIN, None)
    if not callable(fn):
        raise InitError("Action entrypoint '%s' is not a function." % MAIN)
    return fn


def wants_context(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    return len(positional) >= 2


class Context:
    """The DigitalOcean-style second argument, filled from the __OW_* variables."""

    def __init__(self):
        env = os.environ
        self.activation_id = env.get("__OW_ACTIVATION_ID", "")
        self.api_host = env.get("__OW_API_HOST", "")
        self.api_key = env.get("__OW_API_KEY", "")
        self.deadline = int(env.get("__OW_DEADLINE", "0") or "0")
        self.function_name = env.get("__OW_ACTION_NAME", "")
        self.function_version = env.get("__OW_ACTION_VERSION", "")
        self.namespace = env.get("__OW_NAMESPACE", "")
        self.request_id = env.get("__OW_TRANSACTION_ID", "")

    def get_remaining_time_in_millis(self):
        return max(self.deadline - int(time.time() * 1000), 0)


def finish_activation():
    sys.stdout.flush()
    sys.stderr.flush()
    print(SENTINEL, flush=True)
    print(SENTINEL, file=sys.stderr, flush=True)


def memory_limit_mb():
    # The limit sluice set on this process (RLIMIT_DATA), or None where there is none.
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_DATA)
    except (ImportError, AttributeError, OSError, ValueError):
        return None
    if soft in (resource.RLIM_INFINITY, -1) or soft <= 0:
        return None
    return soft // (1024 * 1024)


def error_text(ex):
    # str() of some exceptions is empty (MemoryError() above all): the activation's error
    # then names the exception and, for memory, the limit it ran into.
    if isinstance(ex, MemoryError):
        limit = memory_limit_mb()
        detail = str(ex)
        text = "MemoryError: the function exceeded its memory limit"
        if limit is not None:
            text += " of %d MB" % limit
        return text + (" (%s)" % detail if detail else "")
    return str(ex) or type(ex).__name__


def run_once(fn, two_args, msg):
    for key, value in msg.items():
        if key != "value" and isinstance(value, str):
            os.environ["__OW_" + key.upper()] = value
    args = msg.get("value", {})
    try:
        result = fn(args, Context()) if two_args else fn(args)
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
    except Exception as ex:
        traceback.print_exc()
        result = {"error": error_text(ex)}
    if not isinstance(result, (dict, list)):
        return {"ok": False, "error": "The action did not return a dictionary or array."}
    try:
        return {"ok": True, "text": json.dumps(result)}
    except (TypeError, ValueError):
        return {"ok": False, "error": "The action did not return a dictionary or array."}


def main():
    conn = socket.create_connection(("127.0.0.1", PORT))
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = conn.makefile("rb")
    writer = conn.makefile("wb")

    def send(line):
        writer.write(line.encode("utf-8") + b"\n")
        writer.flush()

    send(json.dumps({"hello": TOKEN}))
    try:
        fn = load_main()
        two_args = wants_context(fn)
    except InitError as ex:
        finish_activation()
        send(json.dumps({"ok": False, "error": "Initialization has failed due to: %s" % ex}))
        return
    except BaseException as ex:
        traceback.print_exc()
        finish_activation()
        send(json.dumps({"ok": False, "error": "Initialization has failed due to: %s" % error_text(ex)}))
        return
    send(json.dumps({"ok": True}))
    for line in reader:
        outcome = run_once(fn, two_args, json.loads(line))
        finish_activation()
        if outcome["ok"]:
            send('{"ok":true,"result":' + outcome["text"] + "}")
        else:
            send(json.dumps(outcome))


if __name__ == "__main__":
    main()
