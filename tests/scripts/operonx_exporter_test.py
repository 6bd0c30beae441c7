#!/usr/bin/python3
"""The Python operonx exporter (client/python/tracedb_operonx.py) against a
live `tracedb serve`: batches posted while the server is not up yet are
retried until it is; the server is then stopped (SIGTERM) and restarted on
the same port and data directory while more batches are exported; the
views over HTTP give the expected tree, turns, cost and errors for a
hand-written request: a generator with yields, a group split across
flushes, duplicate deliveries, error and cancelled ops, LLM usage.

usage: operonx_exporter_test.py <tracedb binary> <repository root>
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

TRACEDB, ROOT = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(ROOT, "client", "python"))
import tracedb_operonx  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def wait_until(done, what, timeout=30.0):
    """Polls done() until it is true; exits the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"FAIL: timed out waiting for {what}")
        time.sleep(0.02)


def reserve_port():
    """A socket bound to a free port with SO_REUSEADDR and never listening.

    Held for the whole test, it keeps the port ours while no server runs
    (the kernel gives it to no other bind or connect, and a connection
    attempt is refused as when nothing listens), and `tracedb serve`, which
    sets SO_REUSEADDR too, can still bind and listen on it. No window in
    which another process could take the port between our servers.
    """
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    return s


def start(port, data, log, tmp):
    port_file = os.path.join(tmp, "port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    proc = subprocess.Popen([TRACEDB, "serve", "--data", data, "--listen", f"127.0.0.1:{port}",
                             "--port-file", port_file], stderr=log)
    # The port file is written once the server listens.
    wait_until(lambda: os.path.exists(port_file) or proc.poll() is not None, "the port file")
    if proc.poll() is not None:
        raise SystemExit(f"FAIL: server exited with {proc.returncode} (see the log)")
    with open(port_file) as f:
        bound = int(f.read())
    if bound != port:
        raise SystemExit(f"FAIL: server listens on {bound}, not {port}")
    return proc


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    check(proc.wait(timeout=30) == 0, "exit status 0 after SIGTERM")


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.loads(r.read())


REQ = "req-fixture-1"
T0 = 1_778_400_000.0  # 2026-05-10T08:00:00Z
_seq = [0]


def ev(kind, op, ctx, payload=None):
    """A TraceEvent as operonx 0.8 emits it (a dict; the exporter accepts both)."""
    seq = _seq[0]
    _seq[0] += 1
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(T0 + seq)) + ".%03dZ" % (seq % 1000)
    return {"event_id": f"{REQ}-{seq}", "request_id": REQ, "kind": kind, "op_name": op, "ctx": ctx,
            "timestamp": ts, "seq": seq, "payload": payload or {}}


def end(status, ms, yields=0, error=None):
    p = {"outputs": {}, "status": status, "duration_ms": ms, "yield_count": yields}
    if error:
        p["error"] = error
    return p


# Flush 1: a turn starts; a generator yields twice, each yield dispatches an op.
flush1 = [
    ev("group_start", None, [], {"name": "turn-0", "turn_index": 0}),
    ev("op_start", "g.gen", ["main"], {"inputs": {}}),
    ev("op_yield", "g.gen", ["main", "[0]"], {"yielded": {"x": 1}, "idx": 0}),
    ev("op_start", "g.proc", ["main", "[0]"]),
    ev("op_end", "g.proc", ["main", "[0]"], end("ok", 2)),
    ev("op_yield", "g.gen", ["main", "[1]"], {"yielded": {"x": 2}, "idx": 1}),
    ev("op_start", "g.proc", ["main", "[1]"]),
]
# Flush 2: the rest of the turn (the group spans both flushes), an LLM call
# with usage, a failed op and a cancelled op.
flush2 = [
    ev("op_end", "g.proc", ["main", "[1]"], end("ok", 3)),
    ev("op_end", "g.gen", ["main"], end("ok", 10, 2)),
    ev("op_start", "g.llm", ["main"]),
    ev("llm_usage", "g.llm", ["main"], {"model": "gpt-x", "prompt_tokens": 10, "completion_tokens": 5,
                                         "total_tokens": 15, "cost_usd": 0.25}),
    ev("op_end", "g.llm", ["main"], end("ok", 7)),
    ev("group_end", None, [], {"name": "turn-0", "status": "ok"}),
]
flush3 = [
    ev("op_start", "g.bad", ["main"]),
    ev("op_end", "g.bad", ["main"], end("error", 1, error="boom")),
    ev("op_start", "g.slow", ["main"]),
    ev("op_end", "g.slow", ["main"], end("cancelled", 4)),
    ev("llm_usage", "g.llm", ["main"], {"model": "gpt-x", "prompt_tokens": 1, "completion_tokens": 1,
                                         "total_tokens": 2, "cost_usd": 0.5}),
]
META = {"workflow_name": "fixture-flow", "user_id": "u1", "session_id": "s1", "tags": ["t"]}

with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "data")
    log = open(os.path.join(tmp, "log"), "wb")
    reserved = reserve_port()
    port = reserved.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    exporter = tracedb_operonx.TracedbExporter(url, max_retries=60, initial_backoff=0.2, max_backoff=0.5,
                                               timeout=5)
    # The server is not up yet: the first batch is retried until it is.
    exporter.export(flush1, REQ, dict(META, partial=True))
    wait_until(lambda: exporter.stats["retries"] >= 1, "a refused first attempt")
    check(exporter.stats["sent"] == 0, f"sent with no server up: {exporter.stats}")
    proc = start(port, data, log, tmp)
    check(exporter.flush(30), "flush after the server came up")
    check(exporter.stats["retries"] >= 1, f"no retry recorded: {exporter.stats}")
    check(exporter.stats["sent"] == 1 and exporter.stats["failed"] == 0, f"stats after start: {exporter.stats}")

    # Duplicate delivery of flush 1, then flush 2.
    exporter.export(flush1, REQ, dict(META, partial=True))
    exporter.export(flush2, REQ, dict(META, partial=True))
    check(exporter.flush(30), "flush of flush 2")

    # Brief outage: stop, export the final flush, restart on the same port.
    stop(proc)
    retries = exporter.stats["retries"]
    exporter.export(flush3, REQ, dict(META, partial=False))
    wait_until(lambda: exporter.stats["retries"] > retries, "a refused attempt during the outage")
    check(exporter.stats["sent"] == 3, f"sent during the outage: {exporter.stats}")
    proc = start(port, data, log, tmp)
    check(exporter.flush(30), "flush after the restart")
    check(exporter.stats["failed"] == 0 and exporter.stats["dropped"] == 0, f"stats: {exporter.stats}")
    check(exporter.stats["sent"] == 4, f"sent: {exporter.stats}")
    # A direct redelivery counts duplicates and changes nothing.
    body = json.dumps({"request_id": REQ, "metadata": dict(META, partial=False), "events": flush3}).encode()
    req = urllib.request.Request(url + "/v1/ingest/operonx", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        reply = json.loads(r.read())
    check(reply["duplicates"] == len(flush3) and reply["rejected"] == [], f"redelivery reply: {reply}")
    exporter.close()

    total = len(flush1) + len(flush2) + len(flush3)
    trace = get(port, f"/v1/traces/{REQ}")
    check(trace.get("workflow_name") == "fixture-flow", f"workflow: {trace.get('workflow_name')}")
    timeline = get(port, f"/v1/operonx/requests/{REQ}/timeline")
    check(len(timeline["events"]) == total, f"timeline has {len(timeline['events'])} events, want {total}")
    check([e["seq"] for e in timeline["events"]] == list(range(total)), "timeline order")

    tree = get(port, f"/v1/operonx/requests/{REQ}/tree")

    def child(node, kind, op):
        for c in node.get("children", []):
            if c.get("kind") == kind and c.get("op_name") == op:
                return c
        check(False, f"no {kind} {op} under {json.dumps(node)[:300]}")
        return {"children": []}

    gen = child(tree["root"], "op", "g.gen")
    check(gen.get("yield_count") == 2, f"generator yield_count: {gen.get('yield_count')}")
    yields = [c for c in gen.get("children", []) if c.get("kind") == "yield"]
    check(len(yields) == 2, f"generator has {len(yields)} yields")
    for y in yields:
        child(y, "op", "g.proc")  # each yield contains what it dispatched

    turns = get(port, f"/v1/operonx/requests/{REQ}/turns")
    groups = turns["groups"]
    check(len(groups) == 1, f"{len(groups)} groups")
    if groups:
        check(groups[0]["status"] == "ok", f"group status {groups[0]['status']} (split across flushes)")
        ops = {o["op_name"] for o in groups[0]["ops"]}
        check({"g.gen", "g.llm"} <= ops, f"group ops {ops}")

    cost = get(port, f"/v1/operonx/requests/{REQ}/cost")
    check(cost["llm_calls"] == 2, f"llm_calls {cost['llm_calls']}")
    check(abs(cost["cost_usd"] - 0.75) < 1e-9, f"cost_usd {cost['cost_usd']}")
    check(cost["prompt_tokens"] == 11, f"prompt_tokens {cost['prompt_tokens']}")

    errors = get(port, f"/v1/operonx/requests/{REQ}/errors")
    failed = {(f["op_name"], f["status"]) for f in errors["failed_ops"]}
    check(failed == {("g.bad", "error"), ("g.slow", "cancelled")}, f"failed ops {failed}")
    check(any(f.get("error") == "boom" for f in errors["failed_ops"]), "error text")
    check(errors["unfinished_ops"] == [], f"unfinished {errors['unfinished_ops']}")

    slow = get(port, f"/v1/operonx/requests/{REQ}/slow?k=1")
    check("g.gen" in json.dumps(slow), f"slowest op: {json.dumps(slow)[:200]}")

    # The final flush ended the request: Failed (an op_end had status error).
    search = get(port, "/v1/traces?q=flow%20%3D%20%22fixture-flow%22%20and%20status%20%3D%20failed")
    check(REQ in json.dumps(search), f"search by status: {json.dumps(search)[:300]}")
    stop(proc)
    reserved.close()

if failures:
    sys.exit(1)
print("operonx exporter: ok")
