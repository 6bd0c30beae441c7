#!/usr/bin/python3
"""Durability where users meet it: SIGKILL the real `tracedb serve` in the
middle of an HTTP bulk upload and of a pipelined WebSocket stream, many
rounds on one data directory, and check what a restart finds.

Each round restarts the server on the same directory, checks everything
written so far, resends (as a client would) the request lines of the stream
the previous round cut, then cuts a new one:

  bulk rounds   one complete upload (acknowledged by its 200 reply), then a
                chunked POST /v1/ingest/reflow sent batch by batch: once the
                server has committed K of its batches (tracedb_write_batches_total),
                a random part of the next ones is sent and the server is
                SIGKILLed. The body never ends, so it is never acknowledged.
  ws rounds     several WebSocket connections pipeline StartTrace, RecordEvent
                and EndTrace with a window of hundreds of requests in flight;
                when a random number of requests has been sent, SIGKILL.

After every restart:
  * every acknowledged request is visible (a completed upload's lines, a
    WebSocket request whose reply arrived);
  * the commit unit of the cut stream is all-or-nothing and the committed
    units form a prefix of the stream. The unit is what docs/server.md
    says is committed at once: for bulk ingest one batch of
    http.ingest_batch_lines accepted lines (malformed lines do not count;
    the batches are committed one after another), for WebSocket one
    request (the writer commits a connection's requests in order);
  * the store equals the model built from the visible requests exactly:
    for each trace its flow, its status, an end time iff it ended, and its
    events, no more, in the order they were committed. Every event of a
    trace carries the same timestamp, so GET returns them in the order of
    the per-trace sequence number the header's event count assigned: a
    header that lost count of its events shows up as a wrong order;
  * the indexes agree with the headers and events: the time index (empty
    filter), `flow = F`, `status = S`, `actor = A` and intersections return
    exactly the traces the model says, with matching total counts; the
    columns agree with the events (`flow = F | count() by (actor)`);
  * resending the cut stream is answered with one duplicate per event that
    was visible (the dedup fingerprints agree with the events) and makes it
    all visible.

A random seed is printed; SERVER_KILL_SEED=<seed> replays a run.

usage: server_kill_test.py <tracedb binary>
"""

import asyncio
import http.client
import json
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

import websockets

TRACEDB = sys.argv[1]
ROUNDS = 10  # of each kind
FLOWS = ["checkout", "billing", "search", "ingest"]
ACTORS = ["gateway", "validator", "db", "cache", "mailer", "scheduler"]
EVENT_TYPES = ['"ActorStarted"', '"ActorCompleted"', '"MessageSent"', '"StateChanged"']
ACK = '{"EventRecorded":{"success":true,"error":null}}'
VERSION = '{"major":1,"minor":0,"patch":0,"git_hash":null,"timestamp":"2025-07-10T12:00:00Z"}'
DEADLINE = 60  # seconds, for any single wait
BODY_BLOCK = 64 * 1024  # bytes of a chunked body the server reads at once

failures = []


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        failures.append(what)
        if len(failures) <= 40:
            print("FAIL:", what, file=sys.stderr)
    return cond


def require(cond, what):
    if not cond:
        raise Failed(what)


# --- requests and the model ------------------------------------------------

class Line:
    """One Reflow ingest request: ('start', tid, flow) | ('event', tid, eid,
    actor) | ('end', tid, status) | ('bad',) for a malformed line."""

    def __init__(self, kind, tid=None, arg=None, actor=None, ts=None, rng=None):
        self.kind, self.tid, self.arg, self.actor = kind, tid, arg, actor
        if kind == "start":
            self.text = ('{"StartTrace":{"trace_id":"%s","flow_id":"%s","version":%s}}' % (tid, arg, VERSION))
        elif kind == "event":
            self.text = ('{"RecordEvent":{"trace_id":"%s","event":{"event_id":"%s","timestamp":"%s","event_type":%s,'
                         '"actor_id":"%s","data":{"port":"out","message":null,"state_diff":null,"error":null,'
                         '"performance_metrics":{"execution_time_ns":%d,"memory_usage_bytes":0,"cpu_usage_percent":'
                         '0.0,"queue_depth":0,"throughput_msgs_per_sec":0.0},"custom_attributes":{}},"causality":'
                         '{"parent_event_id":null,"root_cause_event_id":"%s","dependency_chain":[],"span_id":"s"}}}}'
                         % (tid, arg, ts, rng.choice(EVENT_TYPES), actor, rng.randrange(10**7), arg))
        elif kind == "end":
            self.text = '{"EndTrace":{"trace_id":"%s","status":%s}}' % (tid, json.dumps(arg))
        else:
            self.text = '{"RecordEvent":{"trace_id":"not-a-uuid"}}'


class TraceModel:
    def __init__(self, flow, ts):
        self.flow, self.ts = flow, ts
        self.status = "Running"
        self.events = []  # event ids in commit order
        self.actor = {}   # event id -> actor


class Model:
    """What the store must hold: every request known to be committed,
    applied in commit order with the server's documented semantics."""

    def __init__(self):
        self.traces = {}

    def apply(self, line):
        t = self.traces.get(line.tid)
        if line.kind == "start":
            if t is None:
                self.traces[line.tid] = TraceModel(line.arg, None)
            else:
                t.flow = line.arg  # an existing trace keeps its events and status
        elif line.kind == "event":
            if t is None:  # created lazily
                t = self.traces[line.tid] = TraceModel("unknown", None)
            if line.arg not in t.actor:  # else a duplicate
                t.events.append(line.arg)
                t.actor[line.arg] = line.actor
        elif line.kind == "end" and t is not None:
            t.status = line.arg


def status_name(status):
    return (next(iter(status)) if isinstance(status, dict) else status).lower()


def rfc3339(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + ".%09dZ" % (ns % 10**9)


class Workload:
    """Generates streams of requests over new, lazily created and older
    still-running traces, interleaved. Every event of a trace carries the
    trace's one timestamp (see the module comment)."""

    def __init__(self, rng, model):
        self.rng, self.model = rng, model
        self.ts = {}  # trace id -> the timestamp of all its events

    def new_id(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def stream(self, n_new, n_lazy, n_old, events, busy=()):
        rng = self.rng
        plans = []
        running = sorted(tid for tid, t in self.model.traces.items() if t.status == "Running" and tid not in busy)
        olds = rng.sample(running, min(n_old, len(running)))
        for i in range(n_new + n_lazy + len(olds)):
            if i < n_new + n_lazy:
                tid = self.new_id()
                self.ts[tid] = rfc3339(time.time_ns() - rng.randrange(3600 * 10**9))
            else:
                tid = olds[i - n_new - n_lazy]
            lines = [Line("start", tid, rng.choice(FLOWS))] if i < n_new else []
            for _ in range(rng.randint(events // 2, events * 3 // 2)):
                lines.append(Line("event", tid, self.new_id(), rng.choice(ACTORS), self.ts[tid], rng))
            if rng.random() < 0.6:
                end = rng.choice(["Completed", "Cancelled", {"Failed": {"error": "boom %d" % rng.randrange(100)}}])
                lines.append(Line("end", tid, end))
            plans.append(lines)
        out = []
        while plans:
            p = rng.randrange(len(plans))
            out.append(plans[p].pop(0))
            if not plans[p]:
                plans.pop(p)
        return out


# --- the server ------------------------------------------------------------

class Server:
    def __init__(self, tmp, extra):
        self.data = os.path.join(tmp, "data")
        self.port_file = os.path.join(tmp, "port")
        self.log_path = os.path.join(tmp, "server.log")
        self.extra = extra
        self.proc = None
        self.port = None
        self.conn = None

    def start(self):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([TRACEDB, "serve", "--data", self.data, "--listen", "127.0.0.1:0",
                                          "--port-file", self.port_file] + self.extra, stderr=log)
        deadline = time.monotonic() + DEADLINE
        while not os.path.exists(self.port_file):
            require(self.proc.poll() is None, "server exited with %s while starting" % self.proc.returncode)
            require(time.monotonic() < deadline, "server wrote no port file within %d s" % DEADLINE)
            time.sleep(0.02)  # polling the port file: the condition is its existence
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=DEADLINE)

    def kill(self):
        """SIGKILL by pid; the process must not have died before."""
        require(self.proc.poll() is None, "server died before the kill (status %s)" % self.proc.returncode)
        os.kill(self.proc.pid, signal.SIGKILL)
        rc = self.proc.wait(timeout=DEADLINE)
        check(rc == -signal.SIGKILL, "server ended by SIGKILL (status %d)" % rc)
        self.conn.close()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=DEADLINE)
        check(rc == 0, "server exits 0 on SIGTERM (status %d)" % rc)
        self.conn.close()

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        r = self.conn.getresponse()
        return r.status, r.read()

    def get_json(self, path):
        status, body = self.request("GET", path)
        return status, json.loads(body)

    def metric(self, name):
        status, body = self.request("GET", "/metrics")
        require(status == 200, "/metrics answered %d" % status)
        for line in body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise Failed("no metric " + name)

    def search(self, q):
        status, r = self.get_json("/v1/traces?" + urllib.parse.urlencode({"q": q, "limit": 10000, "count": 1}))
        require(status == 200, "search %r answered %d: %s" % (q, status, r))
        ids = [t["trace_id"] for t in r["traces"]]
        check(r["total_count"] == len(ids), "search %r: total_count %s, %d traces" % (q, r["total_count"], len(ids)))
        check(len(set(ids)) == len(ids), "search %r returns a trace twice" % q)
        return set(ids), {t["trace_id"]: t for t in r["traces"]}

    def aggregate(self, q):
        status, r = self.get_json("/v1/aggregate?" + urllib.parse.urlencode({"q": q}))
        require(status == 200, "aggregate %r answered %d: %s" % (q, status, r))
        return r

    def ingest(self, lines):
        """A complete upload; returns the parsed 200 reply."""
        body = "".join(l.text + "\n" for l in lines).encode()
        status, reply = self.request("POST", "/v1/ingest/reflow", body, {"Content-Type": "application/x-ndjson"})
        require(status == 200, "upload answered %d: %s" % (status, reply[:300]))
        return json.loads(reply)


# --- checks after a restart -------------------------------------------------

def observe(server, tids):
    """GET every trace: trace id -> FlowTrace JSON, or None (404)."""
    out = {}
    for tid in sorted(tids):
        status, body = server.request("GET", "/v1/traces/" + tid)
        require(status in (200, 404), "GET trace %s answered %d: %s" % (tid, status, body[:300]))
        out[tid] = json.loads(body) if status == 200 else None
    return out


def visible(line, before, seen):
    """Whether the effect of `line` (from a stream cut by the kill) shows in
    the observed trace, given the model before the stream."""
    t = seen.get(line.tid)
    if line.kind == "start":
        return t is not None
    if line.kind == "event":
        return t is not None and any(e["event_id"] == line.arg for e in t["events"])
    prior = before.traces.get(line.tid)
    return t is not None and t["status"] == line.arg and (prior is None or prior.status != line.arg)


def resolve_cut(model, cut, seen):
    """Checks the stream cut by the kill: its commit units are all-or-nothing
    and form a prefix within the bounds the client knows; applies the
    visible ones to the model. Returns the number of visible events."""
    lines, units, lo, hi, what = cut["lines"], cut["units"], cut["lo"], cut["hi"], cut["what"]
    tail = [i for i in cut.get("tail", []) if visible(lines[i], model, seen)]
    check(not tail, "%s: %d requests of the unfinished last batch are visible" % (what, len(tail)))
    vis_units = []
    for u, members in enumerate(units):
        vis = [visible(lines[i], model, seen) for i in members]
        check(all(vis) or not any(vis), "%s: unit %d of %d is half visible (%d of %d requests)" %
              (what, u, len(units), sum(vis), len(vis)))
        vis_units.append(any(vis))
    p = 0
    while p < len(vis_units) and vis_units[p]:
        p += 1
    check(not any(vis_units[p:]), "%s: units visible after the first invisible one (#%d): %s" %
          (what, p, [u for u, v in enumerate(vis_units) if v and u > p][:10]))
    check(lo <= p <= hi, "%s: %d units visible, acknowledged/committed %d, sent %d" % (what, p, lo, hi))
    print("  %s: %d of %d units visible (at least %d, at most %d)" % (what, p, len(units), lo, hi))
    events = 0
    for u in range(p):
        for i in units[u]:
            model.apply(lines[i])
            events += lines[i].kind == "event"
    return events


def compare(model, seen):
    """The store equals the model, trace by trace."""
    for tid in sorted(seen):
        t, m = seen[tid], model.traces.get(tid)
        if m is None:
            check(t is None, "trace %s exists but no committed request created it" % tid)
            continue
        if not check(t is not None, "trace %s is missing" % tid):
            continue
        check(t["flow_id"] == m.flow, "trace %s: flow %r, expected %r" % (tid, t["flow_id"], m.flow))
        check(t["status"] == m.status, "trace %s: status %r, expected %r" % (tid, t["status"], m.status))
        check((t["end_time"] is None) == (m.status == "Running"),
              "trace %s: end_time %r with status %r" % (tid, t["end_time"], m.status))
        ids = [e["event_id"] for e in t["events"]]
        if ids != m.events:
            extra = set(ids) - set(m.events)
            missing = set(m.events) - set(ids)
            check(False, "trace %s: %d events, expected %d (%d unexpected, %d missing, %d repeated%s)" %
                  (tid, len(ids), len(m.events), len(extra), len(missing), len(ids) - len(set(ids)),
                   ", order differs" if not extra and not missing and len(ids) == len(m.events) else ""))
        for e in t["events"]:
            if e["event_id"] in m.actor:
                check(e["actor_id"] == m.actor[e["event_id"]], "trace %s: event %s actor" % (tid, e["event_id"]))


def check_indexes(server, model, rng):
    """Index-backed searches return exactly what the headers and events say;
    the columns agree with the events."""
    traces = model.traces
    everything, rows = server.search("")
    check(everything == set(traces), "time index (empty filter): %d traces, the store holds %d (%d missing, "
          "%d unexpected)" % (len(everything), len(traces), len(set(traces) - everything),
                              len(everything - set(traces))))
    for tid, row in rows.items():
        m = traces.get(tid)
        if m is not None:
            check(row["flow"] == m.flow and row["status"] == status_name(m.status),
                  "search row of %s: flow %r status %r, expected %r %r" %
                  (tid, row["flow"], row["status"], m.flow, status_name(m.status)))
    for flow in FLOWS + ["unknown"]:
        want = {tid for tid, t in traces.items() if t.flow == flow}
        got, _ = server.search('flow = "%s"' % flow)
        check(got == want, "flow index: flow = %r gives %d traces, expected %d" % (flow, len(got), len(want)))
    for status in ["running", "completed", "failed", "cancelled"]:
        want = {tid for tid, t in traces.items() if status_name(t.status) == status}
        got, _ = server.search("status = %s" % status)
        check(got == want, "status index: status = %s gives %d traces, expected %d" % (status, len(got), len(want)))
    for actor in ACTORS:
        want = {tid for tid, t in traces.items() if actor in t.actor.values()}
        got, _ = server.search('actor = "%s"' % actor)
        check(got == want, "actor index: actor = %r gives %d traces, expected %d" % (actor, len(got), len(want)))
    for _ in range(3):
        flow, actor, status = rng.choice(FLOWS), rng.choice(ACTORS), rng.choice(["running", "failed", "completed"])
        q = 'flow = "%s" and actor = "%s" and status = %s' % (flow, actor, status)
        want = {tid for tid, t in traces.items()
                if t.flow == flow and actor in t.actor.values() and status_name(t.status) == status}
        got, _ = server.search(q)
        check(got == want, "%s gives %d traces, expected %d" % (q, len(got), len(want)))
    for flow in FLOWS + ["unknown"]:
        want = {}
        for t in traces.values():
            if t.flow == flow:
                for a in t.actor.values():
                    want[a] = want.get(a, 0) + 1
        r = server.aggregate('flow = "%s" | count() by (actor)' % flow)
        got = {row["actor"]: row["count()"] for row in r["rows"]}
        check(got == want, "columns: flow = %r | count() by (actor) gives %s, expected %s" % (flow, got, want))


def verify(server, model, cuts, rng):
    """After a restart: resolves the streams the kill cut, compares the whole
    store with the model, checks the indexes, then resends the cut streams."""
    tids = set(model.traces) | {l.tid for c in cuts for l in c["lines"] if l.tid}
    seen = observe(server, tids)
    visible_events = [resolve_cut(model, c, seen) for c in cuts]
    compare(model, seen)
    check_indexes(server, model, rng)
    for cut, events in zip(cuts, visible_events):
        # A client that got no reply resends: idempotent, and the reply counts
        # as duplicates exactly the events that were already stored.
        lines = [l for l in cut["lines"] if l.kind != "bad"]
        reply = server.ingest(lines)
        n_events = sum(1 for l in lines if l.kind == "event")
        check(reply["lines"] == len(lines) and reply["rejected"] == [],
              "%s resent: %s, expected %d lines applied" % (cut["what"], reply, len(lines)))
        check(reply["accepted"] + reply["duplicates"] == n_events,
              "%s resent: %s, accepted + duplicates should be its %d events" % (cut["what"], reply, n_events))
        check(reply["duplicates"] == events, "%s resent: %d duplicates, %d of its events were visible" %
              (cut["what"], reply["duplicates"], events))
        for l in lines:
            model.apply(l)
    if cuts:
        compare(model, observe(server, tids))


# --- a bulk round: cut a chunked upload -------------------------------------

def bulk_round(server, model, work, rng, batch_lines):
    # An acknowledged upload, with malformed lines among the good ones.
    lines = work.stream(n_new=4, n_lazy=1, n_old=3, events=30)
    for _ in range(2):
        lines.insert(rng.randrange(len(lines) + 1), Line("bad"))
    reply = server.ingest(lines)
    bad = [i + 1 for i, l in enumerate(lines) if l.kind == "bad"]
    n_events = sum(1 for l in lines if l.kind == "event")
    check(reply["lines"] == len(lines) - 2 and reply["accepted"] == n_events and reply["duplicates"] == 0 and
          [r["line"] for r in reply["rejected"]] == bad, "complete upload reply %s (bad lines %s)" % (reply, bad))
    for l in lines:
        if l.kind != "bad":
            model.apply(l)

    # The upload that the kill cuts.
    lines = work.stream(n_new=8, n_lazy=2, n_old=4, events=rng.randint(40, 70))
    for _ in range(3):
        lines.insert(rng.randrange(len(lines) + 1), Line("bad"))
    good = [i for i, l in enumerate(lines) if l.kind != "bad"]
    units = [good[k:k + batch_lines] for k in range(0, len(good) - batch_lines + 1, batch_lines)]
    ends, offset = [], 0  # byte offset just past each line
    for l in lines:
        offset += len(l.text) + 1
        ends.append(offset)
    body = "".join(l.text + "\n" for l in lines).encode()
    # The server reads a chunked body 64 KiB at a time (server/net.cc) and
    # hands a block over when a byte beyond it arrives: a batch is committed
    # once that byte after the block holding its last line is sent.
    block = lambda offset: -(-offset // BODY_BLOCK) * BODY_BLOCK + 1
    fits = [k + 1 for k, u in enumerate(units[:-1]) if block(ends[u[-1]]) <= len(body)]
    require(fits, "the cut upload is too small (%d bytes, %d batches)" % (len(body), len(units)))
    want = rng.choice(fits)  # batches committed before the kill
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE)
    try:
        sock.sendall(b"POST /v1/ingest/reflow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        sent = 0

        def send_to(limit):
            nonlocal sent
            while sent < limit:  # chunks of random size, cutting lines anywhere
                n = min(limit - sent, rng.randint(1, 16384))
                sock.sendall(b"%x\r\n" % n + body[sent:sent + n] + b"\r\n")
                sent += n

        base = server.metric("tracedb_write_batches_total")
        send_to(block(ends[units[want - 1][-1]]))
        deadline = time.monotonic() + DEADLINE
        while server.metric("tracedb_write_batches_total") < base + want:
            require(time.monotonic() < deadline, "the server did not commit %d batches of the upload" % want)
            time.sleep(0.005)  # polling the metric: the condition is its value
        # Kill now, or after part of the next batches (possibly mid-line,
        # possibly while a batch is being committed).
        if rng.random() < 0.75:
            send_to(min(len(body), sent + rng.randint(1, BODY_BLOCK + 2 * len(body) // len(units))))
        readable, _, _ = select.select([sock], [], [], 0)
        require(not readable, "the server answered an unfinished upload: %r" % (readable and sock.recv(300)))
        server.kill()
    finally:
        sock.close()
    complete = sum(1 for e in ends if e <= sent)  # lines sent whole
    hi = sum(1 for u in units if u[-1] < complete)
    return {"what": "cut upload", "lines": lines, "units": units, "lo": want, "hi": hi,
            "tail": good[len(units) * batch_lines:]}


# --- a WebSocket round: cut pipelined streams --------------------------------

async def ws_streams(server, streams, window, kill_at):
    uri = "ws://127.0.0.1:%d/" % server.port
    state = {"sent": 0, "killed": asyncio.Event()}
    progress = [{"sent": 0, "acked": 0} for _ in streams]

    def on_sent():
        # Killing on the sending side lands mid-stream whatever the window:
        # on acks, a fast server may have answered everything already.
        state["sent"] += 1
        if state["sent"] >= kill_at and not state["killed"].is_set():
            server.kill()
            state["killed"].set()

    async def one(ws, lines, prog):
        room = asyncio.Semaphore(window)

        async def sender():
            for l in lines:
                await room.acquire()
                if state["killed"].is_set():
                    return
                prog["sent"] += 1  # counted before the send: an upper bound
                await ws.send(l.text)
                on_sent()

        async def receiver():
            while prog["acked"] < len(lines):
                msg = await ws.recv()
                l = lines[prog["acked"]]
                expect = ('{"TraceStarted":{"trace_id":"%s"}}' % l.tid) if l.kind == "start" else ACK
                require(msg == expect, "reply %d: %r, expected %r" % (prog["acked"], msg[:200], expect))
                prog["acked"] += 1
                room.release()

        send_task = asyncio.ensure_future(sender())
        try:
            await receiver()
        except websockets.ConnectionClosed:
            check(state["killed"].is_set(), "a connection closed before the kill")
        finally:
            send_task.cancel()
            await asyncio.gather(send_task, return_exceptions=True)
        # Stay connected until the kill: a clean close would finalize traces.
        await state["killed"].wait()
        ws.transport.abort()

    # Every connection is open before any request is sent.
    conns = [await websockets.connect(uri, compression=None, max_size=None, ping_interval=None) for _ in streams]
    await asyncio.wait_for(asyncio.gather(*(one(*a) for a in zip(conns, streams, progress))), DEADLINE)
    return progress


def ws_round(server, model, work, rng):
    streams, busy = [], set()
    for _ in range(3):
        s = work.stream(n_new=3, n_lazy=1, n_old=2, events=rng.randint(40, 100), busy=busy)
        busy |= {l.tid for l in s}
        streams.append(s)
    total = sum(len(s) for s in streams)
    window = rng.choice([128, 512, 2048])
    kill_at = rng.randint(total // 5, total * 4 // 5)
    progress = asyncio.run(ws_streams(server, streams, window, kill_at))
    return [{"what": "ws stream %d (window %d)" % (i, window), "lines": s, "units": [[j] for j in range(len(s))],
             "lo": p["acked"], "hi": p["sent"]} for i, (s, p) in enumerate(zip(streams, progress))]


def run(tmp, seed):
    rng = random.Random(seed)
    batch_lines = rng.choice([50, 97, 128])
    server = Server(tmp, ["--set", "http.ingest_batch_lines=%d" % batch_lines])
    model = Model()
    work = Workload(rng, model)
    print("seed %d, http.ingest_batch_lines = %d" % (seed, batch_lines))
    cuts = []
    kinds = ["bulk", "ws"] * ROUNDS
    try:
        for n, kind in enumerate(kinds + ["final"]):
            server.start()
            print("round %d (%s), port %d, %d traces so far" % (n, kind, server.port, len(model.traces)))
            verify(server, model, cuts, rng)
            if failures:
                raise Failed("stopping after round %d" % n)
            if kind == "bulk":
                cuts = [bulk_round(server, model, work, rng, batch_lines)]
            elif kind == "ws":
                cuts = ws_round(server, model, work, rng)
            else:
                verify(server, model, [], rng)  # everything resent is there, indexes included
                server.stop()
    finally:
        server.cleanup()
    print("%d traces, %d events checked" % (len(model.traces), sum(len(t.events) for t in model.traces.values())))


def main():
    seed = int(os.environ.get("SERVER_KILL_SEED") or random.SystemRandom().randrange(2**32))
    os.environ.pop("TRACEDB_CONFIG", None)
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            run(tmp, seed)
        except Failed as e:
            failures.append(str(e))
            print("FAIL:", e, file=sys.stderr)
        except Exception:
            failures.append("unexpected exception")
            raise
        finally:
            if failures and os.environ.get("SERVER_KILL_KEEP"):  # a copy of the store, to debug
                shutil.copytree(tmp, os.environ["SERVER_KILL_KEEP"], dirs_exist_ok=True)
            if failures and os.path.exists(os.path.join(tmp, "server.log")):
                with open(os.path.join(tmp, "server.log"), errors="replace") as f:
                    print("server log (tail):\n" + "".join(f.readlines()[-15:]), file=sys.stderr)
    if failures:
        print("%d check(s) failed; replay with SERVER_KILL_SEED=%d" % (len(failures), seed), file=sys.stderr)
        sys.exit(1)
    print("server kill: all checks passed in %.1f s (seed %d)" % (time.monotonic() - start, seed))


if __name__ == "__main__":
    main()
