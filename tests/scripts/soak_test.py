#!/usr/bin/python3
"""A short soak: the real `tracedb serve` under 1,000 concurrent WebSocket
connections recording, while 50 subscribers watch everything and 10 of them
never read a byte.

Checks:
  * every RecordEvent is acknowledged, in order per connection, and every
    acknowledged event is stored (a count per flow and the total);
  * the 40 reading subscribers receive notifications; the 10 stalled ones
    cost nothing but counted drops (tracedb_notifications_dropped_total > 0)
    and their connections are still open at the end;
  * the server's peak RSS (VmHWM) stays under a bound and is printed.
Speed is not asserted here. With --bench it is the long run instead: 200
events per connection, once with the 10 stalled subscribers and once with
all 50 reading, printing both ingest rates and peak RSS (docs/PERFORMANCE.md).

usage: soak_test.py <tracedb binary> [--bench]
"""

import asyncio
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import websockets

TRACEDB = sys.argv[1]
BENCH = "--bench" in sys.argv[2:]
CONNECTIONS = 1000
EVENTS_PER_CONNECTION = 200 if BENCH else 20
SUBSCRIBERS = 50
STALLED = 10
FLOWS = 10
RSS_BOUND_MB = 1024
DEADLINE = 180
ACK = '{"EventRecorded":{"success":true,"error":null}}'
VERSION = '{"major":1,"minor":0,"patch":0,"git_hash":null,"timestamp":"2025-07-10T12:00:00Z"}'

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def trace_id(c):
    return str(uuid.UUID(int=(0x50A4 << 64) + c))


def event(c, i):
    eid = str(uuid.UUID(int=(0x50A5 << 64) + (c << 20) + i))
    return ('{"RecordEvent":{"trace_id":"%s","event":{"event_id":"%s","timestamp":"2025-07-10T12:00:00Z",'
            '"event_type":"ActorStarted","actor_id":"soak-%d","data":{"port":"out","message":null,"state_diff":null,'
            '"error":null,"performance_metrics":{"execution_time_ns":5,"memory_usage_bytes":0,"cpu_usage_percent":0.0,'
            '"queue_depth":0,"throughput_msgs_per_sec":0.0},"custom_attributes":{}},"causality":{"parent_event_id":null,'
            '"root_cause_event_id":"%s","dependency_chain":[],"span_id":"s"}}}}' % (trace_id(c), eid, c % 7, eid))


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def metric(port, name):
    _, text = get(port, "/metrics")
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def peak_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


async def recorder(uri, c, opened, go):
    async with websockets.connect(uri, compression=None, max_size=None, open_timeout=60) as ws:
        opened.append(c)
        await go.wait()
        start = '{"StartTrace":{"trace_id":"%s","flow_id":"soak-%d","version":%s}}' % (trace_id(c), c % FLOWS, VERSION)
        await ws.send(start)
        for i in range(EVENTS_PER_CONNECTION):
            await ws.send(event(c, i))
        started = json.loads(await ws.recv())
        check("TraceStarted" in started, "connection %d StartTrace: %s" % (c, started))
        acked = 0
        for _ in range(EVENTS_PER_CONNECTION):
            reply = await ws.recv()
            if check(reply == ACK, "connection %d RecordEvent reply: %s" % (c, reply[:200])):
                acked += 1
        return acked


async def subscriber(uri, s, stalled, received, ready, stop):
    # max_queue=1: a stalled subscriber stops reading its socket almost at once.
    async with websockets.connect(uri, compression=None, max_size=None, max_queue=1 if stalled else 1024) as ws:
        await ws.send('{"Subscribe":{"filters":{"flow_ids":null,"actor_ids":null,"event_types":null,'
                      '"status_filter":null}}}')
        reply = await ws.recv()
        check(reply == ACK, "subscriber %d: %s" % (s, reply))
        ready.append(s)
        if stalled:
            await stop.wait()  # never reads again
            return 0
        n = 0
        while not stop.is_set():
            try:
                await asyncio.wait_for(ws.recv(), 0.5)
                n += 1
            except asyncio.TimeoutError:
                pass
        received[s] = n
        return n


async def soak(port, stalled_count):
    uri = "ws://127.0.0.1:%d/" % port
    stop = asyncio.Event()
    go = asyncio.Event()
    ready, opened, received = [], [], {}
    subs = [asyncio.create_task(subscriber(uri, s, s < stalled_count, received, ready, stop))
            for s in range(SUBSCRIBERS)]
    t0 = time.time()
    while len(ready) < SUBSCRIBERS and time.time() - t0 < DEADLINE:
        await asyncio.sleep(0.05)
    check(len(ready) == SUBSCRIBERS, "subscribers ready: %d" % len(ready))
    recs = [asyncio.create_task(recorder(uri, c, opened, go)) for c in range(CONNECTIONS)]
    while len(opened) < CONNECTIONS and time.time() - t0 < DEADLINE:
        await asyncio.sleep(0.05)
    check(len(opened) == CONNECTIONS, "recording connections open at once: %d" % len(opened))
    check(metric(port, "tracedb_connections_open") == CONNECTIONS + SUBSCRIBERS,
          "server sees %s WebSocket connections, want %d" % (metric(port, "tracedb_connections_open"),
                                                             CONNECTIONS + SUBSCRIBERS))
    go.set()
    t_go = time.time()
    acked = await asyncio.wait_for(asyncio.gather(*recs), DEADLINE * (5 if BENCH else 1))
    elapsed = time.time() - t_go
    # The recorders closed; the 50 subscribers, stalled ones included, are
    # still connected.
    t1 = time.time()
    open_now = metric(port, "tracedb_connections_open")
    while open_now != SUBSCRIBERS and time.time() - t1 < 30:
        await asyncio.sleep(0.2)
        open_now = metric(port, "tracedb_connections_open")
    await asyncio.sleep(1.0)  # let the reading subscribers drain
    stop.set()
    await asyncio.wait_for(asyncio.gather(*subs), DEADLINE)
    return sum(acked), received, open_now, elapsed


def run(stalled_count):
    """One soak run against a fresh server; returns (events/s, peak RSS MB)."""
    tmp = tempfile.mkdtemp(prefix="tracedb-soak-")
    port_file = os.path.join(tmp, "port")
    log = open(os.path.join(tmp, "server.log"), "wb")
    proc = subprocess.Popen([TRACEDB, "serve", "--data", os.path.join(tmp, "db"), "--listen", "127.0.0.1:0",
                             "--port-file", port_file, "--set", "server.max_connections=2000",
                             "--set", "subscriptions.queue_capacity=256"], stdout=log, stderr=subprocess.STDOUT)
    try:
        t0 = time.time()
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            if proc.poll() is not None or time.time() - t0 > 60:
                check(False, "server did not start")
                return None
            time.sleep(0.05)
        port = int(open(port_file).read())
        acked, received, open_now, elapsed = asyncio.run(soak(port, stalled_count))
        total = CONNECTIONS * EVENTS_PER_CONNECTION
        check(acked == total, "acknowledged %d of %d events" % (acked, total))
        check(proc.poll() is None, "the server is up")
        # Every acknowledged event is stored.
        stored = 0
        for c in range(CONNECTIONS):
            s, b = get(port, "/v1/traces/" + trace_id(c))
            if check(s == 200, "trace of connection %d: %d" % (c, s)):
                stored += len(json.loads(b)["events"])
        check(stored == total, "stored events: %d, want %d" % (stored, total))
        reading = [received.get(s, 0) for s in range(stalled_count, SUBSCRIBERS)]
        check(min(reading) > 0, "every reading subscriber got notifications: %s" % reading)
        dropped = metric(port, "tracedb_notifications_dropped_total") or 0
        if stalled_count > 0:
            check(dropped > 0, "the stalled subscribers' notifications are dropped and counted")
        check(open_now == SUBSCRIBERS, "after the recorders left, the %d subscribers (stalled ones included) "
              "are still connected: %s open" % (SUBSCRIBERS, open_now))
        rss = peak_rss_mb(proc.pid)
        rate = total / elapsed if elapsed > 0 else 0
        print("soak: %d connections x %d events acknowledged and stored in %.1f s (%.0f events/s); "
              "%d subscribers (%d stalled), %d notifications dropped; server peak RSS %.0f MB"
              % (CONNECTIONS, EVENTS_PER_CONNECTION, elapsed, rate, SUBSCRIBERS, stalled_count, dropped, rss))
        check(rss is not None and rss < RSS_BOUND_MB, "peak RSS %s MB, bound %d MB" % (rss, RSS_BOUND_MB))
        return rate, rss
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        if failures:
            sys.stderr.write(open(os.path.join(tmp, "server.log"), errors="replace").read()[-3000:])
        subprocess.run(["rm", "-rf", tmp])


def main():
    if BENCH:
        base = run(0)
        stalled = run(STALLED)
        if base and stalled:
            print("soak bench: %.0f events/s with all %d subscribers reading, %.0f with %d stalled (%.1f%%); "
                  "peak RSS %.0f / %.0f MB" % (base[0], SUBSCRIBERS, stalled[0], STALLED,
                                               100.0 * stalled[0] / base[0], base[1], stalled[1]))
    else:
        run(STALLED)
    if failures:
        print("%d failure(s)" % len(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
