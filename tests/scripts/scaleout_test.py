#!/usr/bin/python3
"""Scale-out on the ClickHouse backend: two stateless `tracedb serve`
processes (A and B) on one fresh database over the two shards of the test
cluster (tests/scripts/clickhouse_cluster.sh, the ctest fixture
`clickhouse_cluster`), driven over HTTP and the Reflow WebSocket protocol
(Debian's python3-websockets). docs/scale-out.md, "Failure behaviour" and
"Running several servers", says what is checked here:

  start       a cluster that cannot be reached is an error naming its URL
              (a whole cluster, and one shard of two); the start line says
              `store: clickhouse (2 shards, database D)`.
  A -> B      traces ingested through A (HTTP bulk Reflow NDJSON, WebSocket
              StartTrace / RecordEvent / EndTrace, OTLP/JSON) read through B:
              WebSocket GetTrace and GET /v1/traces/{id} on B equal A's,
              exact event lists, search and aggregate counts exact.
  shard down  n2 is stopped while a bulk client, a WebSocket client and an
              OTLP exporter ingest through A: bulk ingest and OTLP are
              answered 503 BackendUnavailable + Retry-After naming shard 2,
              RecordEvent an Error (StorageError) naming it, searches and
              aggregates through B 503 BackendUnavailable naming it (never a
              partial answer). Every client retries a refused request until
              it is acknowledged; n2 is restarted; then every event sent is
              stored exactly once: per trace through B, by the query API
              through B, and by SELECT on each shard.

The servers are stopped by pid (SIGTERM, exit 0); n2 is restarted and the
database dropped in a finally block.

usage: scaleout_test.py <tracedb binary>
environment (set by ctest): TRACEDB_CH_SHARD1, TRACEDB_CH_SHARD2,
TRACEDB_CH_CLUSTER_DIR, TRACEDB_CH_SCRIPT
"""

import asyncio
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

import websockets

TRACEDB = sys.argv[1]
ACK = '{"EventRecorded":{"success":true,"error":null}}'
VERSION = '{"major":1,"minor":2,"patch":3,"git_hash":null,"timestamp":"2026-01-01T00:00:00Z"}'
DEADLINE = 60  # seconds, for any single wait

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


class Failed(Exception):
    pass


def require(cond, what):
    if not cond:
        raise Failed(what)


def env(name):
    value = os.environ.get(name)
    if not value:
        print("scaleout: the environment variable %s is not set (ctest sets it; docs/scale-out.md)" % name,
              file=sys.stderr)
        sys.exit(1)
    return value


SHARD1, SHARD2 = env("TRACEDB_CH_SHARD1"), env("TRACEDB_CH_SHARD2")
CLUSTER_DIR, CLUSTER_SCRIPT = env("TRACEDB_CH_CLUSTER_DIR"), env("TRACEDB_CH_SCRIPT")
DATABASE = "tracedb_scaleout_%d_%d" % (os.getpid(), int(time.time()))
RNG = random.Random(19)  # fixed ids: which traces land on shard 2 is the same every run


def new_id():
    return str(uuid.UUID(int=RNG.getrandbits(128), version=4))


def now_rfc3339(offset_ms=0):
    t = time.time() + offset_ms / 1000.0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


# --- requests ----------------------------------------------------------------

def start_line(tid, flow):
    return '{"StartTrace":{"trace_id":"%s","flow_id":"%s","version":%s}}' % (tid, flow, VERSION)


def event_line(tid, eid, actor, ts):
    return ('{"RecordEvent":{"trace_id":"%s","event":{"event_id":"%s","timestamp":"%s","event_type":"ActorStarted",'
            '"actor_id":"%s","data":{"port":"out","message":null,"state_diff":null,"error":null,'
            '"performance_metrics":{"execution_time_ns":0,"memory_usage_bytes":0,"cpu_usage_percent":0.0,'
            '"queue_depth":0,"throughput_msgs_per_sec":0.0},"custom_attributes":{}},"causality":'
            '{"parent_event_id":null,"root_cause_event_id":"%s","dependency_chain":[],"span_id":"s"}}}}'
            % (tid, eid, ts, actor, eid))


def end_line(tid):
    return '{"EndTrace":{"trace_id":"%s","status":"Completed"}}' % tid


class Traces:
    """What was sent: trace id -> (flow, [event ids in order])."""

    def __init__(self):
        self.traces = {}

    def make(self, flow, n_traces, n_events):
        """Request lines of n_traces new traces of flow, n_events each."""
        lines = []
        for _ in range(n_traces):
            tid = new_id()
            events = [new_id() for _ in range(n_events)]
            self.traces[tid] = (flow, events)
            lines.append(start_line(tid, flow))
            for k, eid in enumerate(events):
                lines.append(event_line(tid, eid, "actor-%d" % (k % 3), now_rfc3339(k)))
            lines.append(end_line(tid))
        return lines

    def of_flow(self, flow):
        return {t: (f, ev) for t, (f, ev) in self.traces.items() if f == flow}


# --- processes and HTTP -------------------------------------------------------

def ch_set(database=DATABASE, shards=None):
    return ["--set", "storage.backend=clickhouse", "--set",
            "clickhouse.shards=" + (shards or "%s,%s" % (SHARD1, SHARD2)), "--set", "clickhouse.database=" + database]


class Server:
    """A `tracedb serve` on 127.0.0.1, port 0; the port from its start line."""

    def __init__(self, name, tmp):
        self.name = name
        self.log_path = os.path.join(tmp, name + ".log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([TRACEDB, "serve", "--listen", "127.0.0.1:0"] + ch_set(),
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + DEADLINE
        self.start_line = None
        while time.time() < deadline and self.proc.poll() is None:
            m = re.search(r"tracedb: listening on 127\.0\.0\.1:(\d+) .*", self.text())
            if m:
                self.port, self.start_line = int(m.group(1)), m.group(0)
                break
            time.sleep(0.05)
        require(self.start_line, "server %s did not start: %s" % (name, self.text()[-2000:]))
        self.http = "127.0.0.1:%d" % self.port
        self.ws = "ws://127.0.0.1:%d/" % self.port

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        """SIGTERM; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9


def request(host, method, path, body=None, headers=None):
    """(status, headers dict lower-case, body bytes)."""
    conn = http.client.HTTPConnection(host, timeout=DEADLINE)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def get_json(host, path, **params):
    status, headers, body = request(host, "GET", path + ("?" + urllib.parse.urlencode(params) if params else ""))
    return status, headers, json.loads(body) if body else None


def clickhouse(url, sql):
    """Runs sql on a ClickHouse node over HTTP; the body as text."""
    u = urllib.parse.urlsplit(url)
    status, _, body = request(u.netloc, "POST", "/", body=sql.encode())
    require(status == 200, "clickhouse %s: %s -> %d %s" % (url, sql, status, body[:300]))
    return body.decode()


def cluster(cmd, node):
    subprocess.run(["bash", CLUSTER_SCRIPT, cmd, CLUSTER_DIR, node], check=True)


def kill_node(node):
    """SIGKILLs a ClickHouse node by the pid in its pid file (a crash; and a
    TERMed node would wait for A's busy keep-alive connections, 30 s) and
    waits until it is gone."""
    with open(os.path.join(CLUSTER_DIR, node, "server.pid")) as f:
        pid = int(f.read().strip())
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        require(os.path.abspath(CLUSTER_DIR).encode() in f.read(), "pid %d is not %s's node %s" % (pid, CLUSTER_DIR, node))
    os.kill(pid, signal.SIGKILL)

    def alive():  # a zombie (nobody reaped the daemon yet) is gone
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.time() + DEADLINE
    while alive() and time.time() < deadline:
        time.sleep(0.05)
    require(not alive(), "node %s (pid %d) did not exit" % (node, pid))


def refusal_ok(status, headers, body, what):
    """A 503 BackendUnavailable with Retry-After naming shard 2."""
    err = body.get("error", {}) if isinstance(body, dict) else {}
    check(status == 503, "%s: 503 (got %d %s)" % (what, status, body))
    check(headers.get("retry-after") == "1", "%s: Retry-After: 1 (got %r)" % (what, headers.get("retry-after")))
    check(err.get("code") == "BackendUnavailable", "%s: code BackendUnavailable (got %s)" % (what, err))
    check("shard 2" in err.get("message", "") and SHARD2 in err.get("message", ""),
          "%s: the message names shard 2 and its URL (got %s)" % (what, err))


# --- WebSocket ----------------------------------------------------------------

async def ws_call(ws, text):
    await ws.send(text)
    return await asyncio.wait_for(ws.recv(), DEADLINE)


async def ws_get_trace(uri, tids):
    """trace id -> TraceData.trace (None when missing)."""
    out = {}
    async with websockets.connect(uri, max_size=None) as ws:
        for tid in tids:
            r = json.loads(await ws_call(ws, '{"GetTrace":{"trace_id":"%s"}}' % tid))
            require("TraceData" in r, "GetTrace %s -> TraceData (got %s)" % (tid, str(r)[:300]))
            out[tid] = r["TraceData"]["trace"]
    return out


async def ws_send_until_acked(ws, lines, refused):
    """Sends each request, one at a time, until acknowledged: an Error reply
    (the store refused it) is retried after a second. Appends each refusal's
    reply to `refused`."""
    for line in lines:
        for _ in range(DEADLINE):
            reply = await ws_call(ws, line)
            if not reply.startswith('{"Error"'):
                break
            refused.append(reply)
            await asyncio.sleep(1)
        else:
            raise Failed("request never acknowledged: " + line[:100])
        if line.startswith('{"StartTrace"'):
            require(json.loads(reply).get("TraceStarted") is not None, "StartTrace -> TraceStarted: " + reply)
        else:
            require(reply == ACK, "%s -> %s (got %s)" % (line[:40], ACK, reply))


async def ws_ingest(uri, lines, refused):
    async with websockets.connect(uri, max_size=None) as ws:
        await ws_send_until_acked(ws, lines, refused)


# --- OTLP -----------------------------------------------------------------------

def otlp_body(traces, flow, n_traces, n_spans):
    """An OTLP/JSON export of n_traces traces of n_spans spans (service =
    flow); records them in `traces` (a span's event id is its span id)."""
    spans = []
    t0 = int(time.time() * 1e9)
    for _ in range(n_traces):
        tid = "%032x" % RNG.getrandbits(128)
        ids = ["%016x" % (RNG.getrandbits(63) | 1) for _ in range(n_spans)]
        traces.traces[str(uuid.UUID(tid))] = (flow, ids)
        for k, sid in enumerate(ids):
            spans.append({"traceId": tid, "spanId": sid, "name": "op-%d" % k, "kind": 2,
                          "startTimeUnixNano": str(t0 + k * 1000), "endTimeUnixNano": str(t0 + k * 1000 + 500)})
    return json.dumps({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": flow}}]},
        "scopeSpans": [{"scope": {"name": "scaleout"}, "spans": spans}]}]}).encode()


def post_until_ok(host, path, body, content_type, refused):
    """POSTs until 200, honouring Retry-After on 503; the last reply."""
    for _ in range(DEADLINE):
        status, headers, reply = request(host, "POST", path, body=body, headers={"Content-Type": content_type})
        if status == 200:
            return reply
        require(status == 503, "%s: 200 or 503 (got %d %s)" % (path, status, reply[:300]))
        refused.append((status, headers, reply))
        time.sleep(int(headers.get("retry-after", "1")))
    raise Failed("%s: never acknowledged" % path)


# --- checks ---------------------------------------------------------------------

def event_ids(trace):
    return [e.get("event_id") for e in trace["events"]]


def check_traces_through(server, sent, what):
    """Every trace of `sent` read through `server`: exactly its events, once."""
    reflow = {t: ev for t, (f, ev) in sent.items() if not f.startswith("otlp")}
    got = asyncio.run(ws_get_trace(server.ws, list(reflow)))
    bad = [t for t, ev in reflow.items() if got[t] is None or event_ids(got[t]) != ev]
    check(not bad, "%s: %d of %d traces read through %s hold exactly the events sent (first: %s)"
          % (what, len(reflow) - len(bad), len(reflow), server.name, bad[:1]))
    return got


def events_by_query(server, flow):
    """Events of flow's traces by the query API: sum of count() by (actor)."""
    status, headers, r = get_json(server.http, "/v1/aggregate", q='flow = "%s" | count() by (actor)' % flow)
    require(status == 200, "aggregate through %s: %d %s" % (server.name, status, r))
    return sum(int(row["count()"]) for row in r["rows"])


def traces_by_query(server, flow):
    status, _, r = get_json(server.http, "/v1/traces", q='flow = "%s"' % flow, count="1", limit="1")
    require(status == 200, "search through %s: %d %s" % (server.name, status, r))
    return r["total_count"]


def start_errors(tmp):
    """An unreachable cluster at start: a non-zero exit naming the URL."""
    for shards, url in [("http://127.0.0.1:1", "http://127.0.0.1:1"),
                        ("%s,http://127.0.0.1:1" % SHARD1, "http://127.0.0.1:1")]:
        p = subprocess.run([TRACEDB, "serve", "--listen", "127.0.0.1:0"] + ch_set(shards=shards),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=DEADLINE)
        out = p.stdout.decode(errors="replace")
        check(p.returncode != 0 and url in out and "listening" not in out,
              "shards %s: serve exits non-zero naming %s (rc=%d: %s)" % (shards, url, p.returncode, out.strip()))


def a_to_b(a, b, sent):
    """Ingest through A (bulk, WebSocket, OTLP), read through B."""
    bulk = sent.make("so-bulk", 30, 4)
    status, _, body = request(a.http, "POST", "/v1/ingest/reflow", body="\n".join(bulk).encode())
    check(status == 200 and json.loads(body) == {"accepted": 120, "duplicates": 0, "lines": 180, "rejected": []},
          "bulk ingest through A: 200, 120 events accepted (got %d %s)" % (status, body))
    refused = []
    asyncio.run(ws_ingest(a.ws, sent.make("so-ws", 8, 5), refused))
    check(not refused, "WebSocket ingest through A: nothing refused (got %s)" % refused[:1])
    reply = json.loads(post_until_ok(a.http, "/v1/traces", otlp_body(sent, "otlp-a", 5, 3), "application/json",
                                     refused))
    check(not refused and reply == {}, "OTLP export through A: 200, full success (got %s %s)" % (reply, refused[:1]))

    through_b = check_traces_through(b, sent.traces, "A -> B")
    through_a = asyncio.run(ws_get_trace(a.ws, list(through_b)))
    check(through_a == through_b, "GetTrace through A equals GetTrace through B")
    http_same = True
    for tid, trace in through_b.items():
        status, _, body = get_json(b.http, "/v1/traces/" + tid)
        http_same = http_same and status == 200 and body == trace
    check(http_same, "GET /v1/traces/{id} through B equals GetTrace for every trace")
    for flow, n_traces, n_events in [("so-bulk", 30, 120), ("so-ws", 8, 40)]:
        check(traces_by_query(b, flow) == n_traces, "search flow %s through B: %d traces" % (flow, n_traces))
        check(events_by_query(b, flow) == n_events, "aggregate flow %s through B: %d events" % (flow, n_events))
    status, _, r = get_json(b.http, "/v1/traces", q='service = "otlp-a"', count="1", limit="1")
    check(status == 200 and r["total_count"] == 5, "OTLP traces found through B by service (got %d %s)" % (status, r))


def shard_down(a, b, sent):
    """n2 stopped during ingest through A, restarted: exact counts."""
    flow = "so-kill"
    bulk_refused, ws_refused, otlp_refused, acked = [], [], [], []
    progress, stop = threading.Event(), threading.Event()
    lock = threading.Lock()  # sent and its RNG

    def bulk_client():
        while not stop.is_set():
            with lock:
                body = "\n".join(sent.make(flow, 12, 5)).encode()
            acked.append(json.loads(post_until_ok(a.http, "/v1/ingest/reflow", body, "application/x-ndjson",
                                                  bulk_refused)))
            if len(acked) == 2:
                progress.set()
            time.sleep(0.2)

    def otlp_client():
        progress.wait(DEADLINE)
        while not stop.is_set():
            with lock:
                body = otlp_body(sent, "otlp-kill", 6, 2)
            post_until_ok(a.http, "/v1/traces", body, "application/json", otlp_refused)
            time.sleep(0.3)

    async def ws_loop():
        async with websockets.connect(a.ws, max_size=None) as ws:
            while not stop.is_set():
                with lock:
                    lines = sent.make(flow, 1, 6)
                await ws_send_until_acked(ws, lines, ws_refused)

    def ws_client():
        progress.wait(DEADLINE)
        asyncio.run(ws_loop())

    errors = []

    def run(fn):
        try:
            fn()
        except Exception as e:  # reported below: a thread must not die silently
            errors.append("%s: %r" % (fn.__name__, e))
            progress.set()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in (bulk_client, otlp_client, ws_client)]
    for t in threads:
        t.start()
    try:
        require(progress.wait(DEADLINE) and not errors, "the bulk client made no progress: %s" % errors)
        kill_node("n2")
        # Reads that fan out fail whole, naming the shard; never a partial answer.
        status, headers, r = get_json(b.http, "/v1/traces", q='flow = "%s"' % flow, count="1")
        refusal_ok(status, headers, r, "search through B with shard 2 down")
        status, headers, r = get_json(b.http, "/v1/aggregate", q='flow = "%s" | count() by (actor)' % flow)
        refusal_ok(status, headers, r, "aggregate through B with shard 2 down")
        status, headers, r = get_json(b.http, "/v1/query", q='| count()')
        refusal_ok(status, headers, r, "/v1/query through B with shard 2 down")
        deadline = time.time() + DEADLINE  # until every client met a refusal
        while time.time() < deadline and not (bulk_refused and otlp_refused and ws_refused) and not errors:
            time.sleep(0.1)
        cluster("start-node", "n2")
        time.sleep(1)  # the clients go on after the restart
    finally:
        stop.set()
        for t in threads:
            t.join(DEADLINE * 2)
    check(not errors, "clients finished without errors: %s" % errors)

    check(bulk_refused, "the bulk client was refused while shard 2 was down")
    for status, headers, body in bulk_refused[:3]:
        r = json.loads(body)
        refusal_ok(status, headers, r, "bulk ingest through A with shard 2 down")
        check(all(k in r for k in ("accepted", "duplicates", "lines", "rejected")),
              "the bulk refusal reports what was committed (%s)" % r)
    check(otlp_refused, "the OTLP exporter was refused while shard 2 was down")
    for status, headers, body in otlp_refused[:1]:
        r = json.loads(body)
        check(status == 503 and headers.get("retry-after") == "1" and r.get("code") == 14 and
              "shard 2" in r.get("message", ""),
              "OTLP refusal: 503, Retry-After, google.rpc.Status UNAVAILABLE naming shard 2 (got %d %s)"
              % (status, r))
    check(ws_refused, "the WebSocket client was refused while shard 2 was down")
    for reply in ws_refused[:3]:
        err = json.loads(reply).get("Error", {})
        check(err.get("code") == "StorageError" and "shard 2" in err.get("message", ""),
              "RecordEvent refused with an Error (StorageError) naming shard 2 (got %s)" % reply)

    # Exactly what was sent, each once.
    kill = sent.of_flow(flow)
    sent_events = sum(len(ev) for _, ev in kill.values())
    check_traces_through(b, kill, "after the restart")
    got = traces_by_query(b, flow)
    check(got == len(kill), "search through B: %d traces of %s (got %d)" % (len(kill), flow, got))
    got = events_by_query(b, flow)
    check(got == sent_events, "query API through B: %d events of %s (got %d)" % (sent_events, flow, got))
    otlp_sent = len(sent.of_flow("otlp-kill"))
    status, _, r = get_json(b.http, "/v1/traces", q='service = "otlp-kill"', count="1", limit="1")
    check(status == 200 and r["total_count"] == otlp_sent,
          "%d OTLP traces through B after the restart (got %s)" % (otlp_sent, r))
    total_sent = sum(len(ev) for _, ev in sent.traces.values())
    unique = rows = 0
    for url in (SHARD1, SHARD2):
        u, n = clickhouse(url, "SELECT uniqExact(trace_id, event_fp), count() FROM %s.events FORMAT TSV"
                          % DATABASE).split()
        unique, rows = unique + int(u), rows + int(n)
    check(unique == total_sent, "SELECT on the shards: %d distinct events (got %d; %d rows, re-sent blocks "
          "included)" % (total_sent, unique, rows))
    print("scaleout: shard 2 down: %d bulk, %d OTLP, %d WebSocket refusals; %d bulk bodies acknowledged "
          "(accepted %d + duplicates %d = %d events); %d distinct events stored in %d rows" %
          (len(bulk_refused), len(otlp_refused), len(ws_refused), len(acked), sum(r["accepted"] for r in acked),
           sum(r["duplicates"] for r in acked), len(acked) * 60, unique, rows))
    check(sum(r["accepted"] + r["duplicates"] for r in acked) == len(acked) * 60,
          "every acknowledged bulk body counts each of its events as accepted or duplicate")


def main():
    t0 = time.time()
    servers = []
    n2_stopped = False
    with tempfile.TemporaryDirectory() as tmp:
        try:
            start_errors(tmp)
            a = Server("A", tmp)
            servers.append(a)
            b = Server("B", tmp)
            servers.append(b)
            for s in servers:
                check(s.start_line.endswith("store: clickhouse (2 shards, database %s)" % DATABASE),
                      "start line of %s names the cluster (got %s)" % (s.name, s.start_line))
            sent = Traces()
            t = time.time()
            a_to_b(a, b, sent)
            print("scaleout: A -> B %.1f s" % (time.time() - t))
            t = time.time()
            n2_stopped = True
            shard_down(a, b, sent)
            n2_stopped = False
            print("scaleout: shard down %.1f s" % (time.time() - t))
        except Failed as e:
            check(False, str(e))
        finally:
            for s in servers:
                rc = s.stop()
                check(rc == 0, "server %s exits 0 on SIGTERM (rc=%d)" % (s.name, rc))
            if n2_stopped:
                cluster("start-node", "n2")  # idempotent: a no-op when it runs
            for url in (SHARD1, SHARD2):
                try:
                    clickhouse(url, "DROP DATABASE IF EXISTS " + DATABASE)
                except Exception as e:
                    print("scaleout: dropping %s on %s: %r" % (DATABASE, url, e), file=sys.stderr)
            if failures:
                for s in servers:
                    print("--- server %s log (tail) ---\n%s" % (s.name, s.text()[-3000:]), file=sys.stderr)
    print("scaleout: %.1f s" % (time.time() - t0))
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("scaleout: all checks passed")


if __name__ == "__main__":
    main()
