#!/usr/bin/env python3
"""Latency of the local namespace's background server, from the command line (issue 12).

Measures, on a fresh temporary data directory (its server is stopped at the end):
  1. `sluice invoke` of a warm trivial node function, sequentially: median and p90, and the
     ratio to `curl` of the same blocking invoke;
  2. `sluice invoke --no-wait` of the same function;
  3. N concurrent blocking invokes (default 500) straight to the server: errors, p50, p99,
     throughput.

Run: `python3 benches/local_daemon.py [--sluice target/release/sluice] [--runs 50]
[--concurrent 500]`. Needs node and curl. Build first (`cargo build --release`).

Targets (issue 12): CLI invoke <= 30 ms median, --no-wait <= 50 ms, 500 concurrent: zero
errors and p99 <= 2 s. On the 2-CPU development VM (release build, default runner settings:
8 workers): CLI 17.9 ms median (curl 14.5 ms, ratio 1.24), --no-wait 13.8 ms, 500 concurrent
0 errors, p50 434 ms, p99 569 ms, 372 req/s. Before the warm, bounded pool and the plain-HTTP
client without TLS roots: 117 ms, 106 ms and p99 32.5 s.
"""

import argparse
import base64
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def ms(v):
    return f"{v * 1000:.1f} ms"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", default=os.path.join("target", "release", "sluice"))
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--concurrent", type=int, default=500)
    args = ap.parse_args()
    sluice = os.path.abspath(args.sluice)
    tmp = tempfile.mkdtemp(prefix="sluice-bench-")
    home = os.path.join(tmp, "home")
    data = os.path.join(tmp, "local")
    project = os.path.join(tmp, "project")
    os.makedirs(os.path.join(project, "packages", "bench"))
    os.makedirs(home)
    with open(os.path.join(project, "packages", "bench", "trivial.js"), "w") as f:
        f.write("function main(args) { return { n: args.n || 0 } }\nexports.main = main\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLUICE_", "__OW_", "DO_API_"))}
    env.update(HOME=home, SLUICE_HOME=os.path.join(home, ".sluice"),
               NIMBELLA_DIR=os.path.join(home, ".nimbella"), SLUICE_LOCAL_DIR=data,
               SLUICE_LOCAL_IDLE="10m", NO_COLOR="1")

    def sluice_run(*a):
        return subprocess.run([sluice, *a], cwd=project, env=env, capture_output=True, text=True)

    try:
        out = sluice_run("deploy", ".")
        if out.returncode != 0:
            sys.exit(f"deploy failed: {out.stdout}{out.stderr}")
        status = json.loads(sluice_run("local", "status", "--json").stdout)
        host = status["apiHost"]
        auth = open(os.path.join(data, "local.auth")).read().strip()
        sluice_run("invoke", "bench/trivial")  # warm the worker

        cli = []
        for i in range(args.runs):
            t = time.perf_counter()
            r = sluice_run("invoke", "bench/trivial", "-p", "n", str(i))
            cli.append(time.perf_counter() - t)
            assert r.returncode == 0, r.stderr
        url = f"{host}/api/v1/namespaces/_/actions/bench/trivial?blocking=true&result=true"
        curl = []
        for i in range(args.runs):
            t = time.perf_counter()
            r = subprocess.run(["curl", "-sf", "-u", auth, "-X", "POST", "-H",
                                "content-type: application/json", "-d", '{"n":1}', url],
                               capture_output=True)
            curl.append(time.perf_counter() - t)
            assert r.returncode == 0
        nowait = []
        for i in range(args.runs):
            t = time.perf_counter()
            r = sluice_run("invoke", "bench/trivial", "--no-wait")
            nowait.append(time.perf_counter() - t)
            assert r.returncode == 0, r.stderr
        print(f"sluice invoke (warm, {args.runs} runs): median {ms(statistics.median(cli))}, "
              f"p90 {ms(pct(cli, 90))}")
        print(f"curl of the same invoke:            median {ms(statistics.median(curl))}, "
              f"p90 {ms(pct(curl, 90))}  (sluice/curl = "
              f"{statistics.median(cli) / statistics.median(curl):.2f})")
        print(f"sluice invoke --no-wait:            median {ms(statistics.median(nowait))}, "
              f"p90 {ms(pct(nowait, 90))}")

        hostport = host.split("//", 1)[1]
        h, p = hostport.split(":")
        token = base64.b64encode(auth.encode()).decode()
        lat, errors = [], []
        lock = threading.Lock()
        gate = threading.Barrier(args.concurrent)

        def one(i):
            gate.wait()
            t = time.perf_counter()
            try:
                c = http.client.HTTPConnection(h, int(p), timeout=120)
                c.request("POST", "/api/v1/namespaces/_/actions/bench/trivial?blocking=true&result=true",
                          body=json.dumps({"n": i}),
                          headers={"authorization": f"Basic {token}", "content-type": "application/json"})
                resp = c.getresponse()
                body = resp.read()
                ok = resp.status == 200 and json.loads(body) == {"n": i}
                c.close()
            except Exception as e:  # noqa: BLE001 - a bench counts every failure
                ok, body = False, str(e).encode()
            d = time.perf_counter() - t
            with lock:
                (lat if ok else errors).append(d if ok else body[:200])

        threads = [threading.Thread(target=one, args=(i,)) for i in range(args.concurrent)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        print(f"{args.concurrent} concurrent blocking invokes: {len(errors)} errors, "
              f"p50 {ms(pct(lat, 50)) if lat else '-'}, p99 {ms(pct(lat, 99)) if lat else '-'}, "
              f"{len(lat) / wall:.0f} req/s over {wall:.1f} s")
        if errors:
            print(f"  first error: {errors[0]!r}")
    finally:
        sluice_run("local", "stop")


if __name__ == "__main__":
    main()
