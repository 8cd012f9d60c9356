'use strict';
// sluice local runner: the launcher for nodejs:* functions.
//
// sluice starts `node node.js` with the action's code materialised in SLUICE_RUNNER_CODE_DIR and
// the init environment (init parameters, static __OW_* variables) already exported. The protocol
// runs over a loopback TCP connection, one JSON object per line, so the user's stdout and stderr
// stay free to become activation logs:
//   launcher -> sluice  {"hello":"<token>"}                      first line, proves who we are
//   launcher -> sluice  {"ok":true} | {"ok":false,"error":"…"}   after loading the code
//   sluice -> launcher  {"value":{…},"activation_id":"…",…}       one per run
//   launcher -> sluice  {"ok":true,"result":…} | {"ok":false,"error":"…"}
// After every run the launcher prints the activation sentinel on stdout and stderr.

const fs = require('fs');
const net = require('net');
const path = require('path');
const vm = require('vm');
const Module = require('module');
const readline = require('readline');
const { pathToFileURL } = require('url');

const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX';

const port = Number(process.env.SLUICE_RUNNER_PORT);
const token = process.env.SLUICE_RUNNER_TOKEN;
const codeDir = process.env.SLUICE_RUNNER_CODE_DIR;
const binary = process.env.SLUICE_RUNNER_BINARY === '1';
const mainName = process.env.SLUICE_RUNNER_MAIN || 'main';
for (const key of ['SLUICE_RUNNER_PORT', 'SLUICE_RUNNER_TOKEN', 'SLUICE_RUNNER_CODE_DIR',
  'SLUICE_RUNNER_BINARY', 'SLUICE_RUNNER_MAIN']) {
  delete process.env[key];
}

// Isolation: modules resolve only from the function's own code (its node_modules), never from
// NODE_PATH, ~/.node_modules, ~/.node_libraries, <prefix>/lib/node or a node_modules folder
// above the code directory, none of which the cloud runtime has. Built-in modules, relative
// and absolute requires are unaffected. (ESM `import` ignores NODE_PATH and the global folders
// by itself.)
const codeRoots = [path.resolve(codeDir)];
try {
  codeRoots.push(fs.realpathSync(codeDir));
} catch (e) {
  // A missing code directory fails later, with the runtime's message.
}
function insideCode(p) {
  return !path.isAbsolute(p) ||
    codeRoots.some((root) => p === root || p.startsWith(root + path.sep));
}
const nodeModulePaths = Module._nodeModulePaths;
Module._nodeModulePaths = function (from) {
  return nodeModulePaths.call(this, from).filter(insideCode);
};
const resolveLookupPaths = Module._resolveLookupPaths;
Module._resolveLookupPaths = function (request, parent) {
  const paths = resolveLookupPaths.call(this, request, parent);
  return Array.isArray(paths) ? paths.filter(insideCode) : paths;
};

class InitError extends Error {}

function pick(exports, name) {
  if (exports && typeof exports[name] === 'function') return exports[name];
  if (exports && exports.default && typeof exports.default[name] === 'function') {
    return exports.default[name];
  }
  return undefined;
}

async function importFile(file) {
  return import(pathToFileURL(file).href);
}

// Plain (non-zip) code: evaluated in a CommonJS wrapper, and `main` is found as a top-level
// function first (what the Apache runtime does), then as an export.
function loadScript(file) {
  const code = fs.readFileSync(file, 'utf8');
  const mod = new Module(file, null);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(codeDir);
  const localRequire = Module.createRequire(file);
  const ident = /^[A-Za-z_$][\w$]*$/.test(mainName);
  const lookup = ident
    ? `(typeof ${mainName} === 'function' ? ${mainName} : undefined)`
    : 'undefined';
  const wrapper = '(function (exports, require, module, __filename, __dirname) {' + code +
    '\n;return ' + lookup + ';\n})';
  const compiled = vm.runInThisContext(wrapper, { filename: file });
  const found = compiled.call(mod.exports, mod.exports, localRequire, mod, file, codeDir);
  return found || pick(mod.exports, mainName);
}

async function loadMain() {
  process.chdir(codeDir);
  if (!binary) {
    const mjs = path.join(codeDir, 'index.mjs');
    if (fs.existsSync(mjs)) return pick(await importFile(mjs), mainName);
    return loadScript(path.join(codeDir, 'index.js'));
  }
  let target = codeDir;
  let fnName = mainName;
  const dot = mainName.lastIndexOf('.');
  if (dot > 0) {
    target = path.join(codeDir, mainName.slice(0, dot));
    fnName = mainName.slice(dot + 1);
  } else if (!fs.existsSync(path.join(codeDir, 'package.json')) &&
      !fs.existsSync(path.join(codeDir, 'index.js'))) {
    const mjs = path.join(codeDir, 'index.mjs');
    if (fs.existsSync(mjs)) return pick(await importFile(mjs), fnName);
    throw new InitError('Zipped actions must contain either package.json or index.js at the root.');
  }
  let exports;
  try {
    exports = require(target);
  } catch (e) {
    if (e && e.code === 'ERR_REQUIRE_ESM') {
      exports = await importFile(require.resolve(target));
    } else {
      throw e;
    }
  }
  return pick(exports, fnName);
}

function makeContext() {
  const env = process.env;
  const deadline = Number(env.__OW_DEADLINE || 0);
  return {
    activationId: env.__OW_ACTIVATION_ID,
    apiHost: env.__OW_API_HOST,
    apiKey: env.__OW_API_KEY || '',
    deadline,
    functionName: env.__OW_ACTION_NAME,
    functionVersion: env.__OW_ACTION_VERSION,
    namespace: env.__OW_NAMESPACE,
    requestId: env.__OW_TRANSACTION_ID,
    getRemainingTimeInMillis() {
      return Math.max(deadline - Date.now(), 0);
    },
  };
}

// What serialize-error does for the Apache runtime: an Error becomes a plain object.
function serializeError(e) {
  if (e instanceof Error) {
    const out = { name: e.name, message: e.message };
    for (const key of Object.keys(e)) out[key] = e[key];
    if (e.stack) out.stack = e.stack;
    return out;
  }
  return e === undefined || e === null ? {} : e;
}

async function runOnce(fn, msg) {
  for (const [key, value] of Object.entries(msg)) {
    if (key !== 'value' && typeof value === 'string') {
      process.env['__OW_' + key.toUpperCase()] = value;
    }
  }
  const args = msg.value === undefined ? {} : msg.value;
  let pending;
  try {
    pending = fn.length >= 2 ? fn(args, makeContext()) : fn(args);
  } catch (e) {
    console.error(e);
    return { ok: false, error: 'An error has occurred: ' + String(e) };
  }
  let result;
  try {
    result = await pending;
  } catch (e) {
    result = { error: serializeError(e) };
  }
  if (result === undefined) result = {};
  if (result === null || typeof result !== 'object') {
    return { ok: false, error: 'The action did not return a dictionary.' };
  }
  try {
    return { ok: true, text: JSON.stringify(result) };
  } catch (e) {
    return { ok: false, error: 'The action did not return a dictionary.' };
  }
}

function finishActivation() {
  process.stdout.write(SENTINEL + '\n');
  process.stderr.write(SENTINEL + '\n');
}

function main() {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const send = (line) => socket.write(line + '\n');
  socket.on('error', () => process.exit(1));
  socket.on('close', () => process.exit(0));
  socket.on('connect', async () => {
    send(JSON.stringify({ hello: token }));
    let fn;
    try {
      fn = await loadMain();
      if (typeof fn !== 'function') {
        throw new InitError(`Action entrypoint '${mainName}' is not a function.`);
      }
    } catch (e) {
      if (!(e instanceof InitError)) console.error(e);
      finishActivation();
      const detail = e instanceof InitError ? e.message : String(e);
      send(JSON.stringify({ ok: false, error: 'Initialization has failed due to: ' + detail }));
      return;
    }
    send(JSON.stringify({ ok: true }));
    const lines = readline.createInterface({ input: socket, crlfDelay: Infinity });
    const queue = [];
    let busy = false;
    const drain = async () => {
      if (busy) return;
      busy = true;
      while (queue.length > 0) {
        const outcome = await runOnce(fn, JSON.parse(queue.shift()));
        finishActivation();
        if (outcome.ok) {
          send('{"ok":true,"result":' + outcome.text + '}');
        } else {
          send(JSON.stringify(outcome));
        }
      }
      busy = false;
    };
    lines.on('line', (line) => {
      queue.push(line);
      drain();
    });
  });
}

main();
