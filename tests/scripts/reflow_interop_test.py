#!/usr/bin/python3
"""Interoperability test with an independent WebSocket implementation.

Starts `tracedb serve --memory` on a free port and drives it with Debian's
python3-websockets (10.4, run by /usr/bin/python3), sending the JSON exactly
as reflow-protocol.md §5 prints it and the golden request lines of
reflow-wire-samples.ndjson, and asserting the replies (exact text where the
reference fixes it, JSON shape against the golden reply lines otherwise).

With --clickhouse the same checks run against a server on the ClickHouse
backend (docs/scale-out.md): the shards of the test cluster from
TRACEDB_CH_SHARD1 and TRACEDB_CH_SHARD2 (ctest's fixture `clickhouse_cluster`
sets them), a fresh database per run, dropped at the end.

usage: reflow_interop_test.py <tracedb binary> <shared dir> [--clickhouse]
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import websockets

TRACEDB, SHARED = sys.argv[1], sys.argv[2]

E = ('{"event_id":"11111111-1111-4111-8111-111111111111","timestamp":"2025-07-10T12:00:01.500Z","event_type":'
     '{"DataFlow":{"to_actor":"processor","to_port":"in"}},"actor_id":"generator","data":{"port":"out","message":'
     '{"message_type":"String","size_bytes":7,"checksum":"","serialized_data":[]},"state_diff":null,"error":null,'
     '"performance_metrics":{"execution_time_ns":0,"memory_usage_bytes":0,"cpu_usage_percent":0.0,"queue_depth":0,'
     '"throughput_msgs_per_sec":0.0},"custom_attributes":{}},"causality":{"parent_event_id":null,'
     '"root_cause_event_id":"22222222-2222-4222-8222-222222222222","dependency_chain":[],'
     '"span_id":"3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"}}')
T = ('{"trace_id":"5e1ec7ed-0000-4000-8000-000000000001","flow_id":"simple-example","execution_id":'
     '"e7ec0000-0000-4000-8000-000000000002","version":{"major":1,"minor":0,"patch":0,"git_hash":null,'
     '"timestamp":"2025-07-10T12:00:00Z"},"start_time":"2025-07-10T12:00:00.123456789Z","end_time":null,'
     '"status":"Running","events":[' + E + '],"metadata":{"user_id":null,"session_id":null,"environment":"unknown",'
     '"hostname":"unknown","process_id":4242,"thread_id":"ThreadId(7)","tags":{}}}')
TRACE_ID = "5e1ec7ed-0000-4000-8000-000000000001"
ACK = '{"EventRecorded":{"success":true,"error":null}}'

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def zstd(data, decompress):
    args = ["zstd", "-q", "-d" if decompress else "-3", "-c"]
    return subprocess.run(args, input=data, stdout=subprocess.PIPE, check=True).stdout


def same_shape(a, b):
    """True when objects have the same keys at every level both have an
    object (arrays: their first elements); scalars and nulls match anything
    (Option fields may be null on one side)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_shape(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list) and a and b:
        return same_shape(a[0], b[0])
    return True


async def recv_json(ws):
    msg = await asyncio.wait_for(ws.recv(), 20)
    if isinstance(msg, bytes):
        check(msg[:4] == b"\x28\xb5\x2f\xfd", "binary reply is zstd")
        msg = zstd(msg, True).decode()
        return msg, True
    return msg, False


async def call(ws, text):
    await ws.send(text)
    msg, _ = await recv_json(ws)
    return msg


async def section5(uri):
    async with websockets.connect(uri, compression=None, max_size=None) as ws:
        r = json.loads(await call(ws, '{"StartTrace":{"flow_id":"simple-example","version":{"major":1,"minor":0,'
                                      '"patch":0,"git_hash":null,"timestamp":"2025-07-10T12:00:00Z"}}}'))
        check(list(r) == ["TraceStarted"] and len(r["TraceStarted"]["trace_id"]) == 36, "StartTrace -> TraceStarted")
        started = r["TraceStarted"]["trace_id"]
        check(await call(ws, '{"RecordEvent":{"trace_id":"' + started + '","event":' + E + '}}') == ACK,
              "RecordEvent -> EventRecorded")
        r = json.loads(await call(ws, '{"GetTrace":{"trace_id":"' + started + '"}}'))
        trace = r["TraceData"]["trace"]
        check(trace["flow_id"] == "simple-example" and trace["status"] == "Running", "GetTrace header")
        check(trace["events"] == [json.loads(E)], "GetTrace returns the event verbatim")
        r = json.loads(await call(ws, '{"QueryTraces":{"query":{"flow_id":"simple-example","execution_id":null,'
                                      '"time_range":["2025-07-10T11:00:00Z","2025-07-10T13:00:00Z"],"status":'
                                      '{"Failed":{"error":"boom"}},"actor_filter":"gen","limit":50,"offset":0}}}'))
        check(r == {"QueryResults": {"traces": [], "total_count": 0}}, "QueryTraces §5 example: no Failed trace")
        r = json.loads(await call(ws, '{"QueryTraces":{"query":{"flow_id":"simple-example"}}}'))
        check(r["QueryResults"]["total_count"] == 1, "QueryTraces by flow finds the started trace")
        r = json.loads(await call(ws, '{"GetFlowVersions":{"flow_id":"simple-example"}}'))
        check(r == {"FlowVersions": {"versions": [{"major": 1, "minor": 0, "patch": 0, "git_hash": None,
                                                   "timestamp": "2025-07-10T12:00:00Z"}]}}, "GetFlowVersions")
        check(await call(ws, '"Ping"') == '"Pong"', "Ping -> Pong")
        check(await call(ws, '{"Ping":null}') == '"Pong"', "{Ping:null} -> Pong")
        check(await call(ws, '{"Subscribe":{"filters":{"flow_ids":null,"actor_ids":["generator"],"event_types":'
                             '["ActorCreated",{"DataFlow":{"to_actor":"processor","to_port":"in"}}],'
                             '"status_filter":null}}}') == ACK, "Subscribe -> EventRecorded")
        e2 = E.replace("11111111-1111-4111-8111-111111111111", "11111111-1111-4111-8111-111111111112")
        await ws.send('{"RecordEvent":{"trace_id":"' + started + '","event":' + e2 + '}}')
        push, binary = await recv_json(ws)
        check(not binary and json.loads(push) == {"EventNotification": {"trace_id": started, "event": json.loads(e2)}},
              "EventNotification (Text) before the recorder's ack")
        check((await recv_json(ws))[0] == ACK, "ack after the push")
        check(await call(ws, '"Unsubscribe"') == ACK, "Unsubscribe -> EventRecorded")
        check(await call(ws, '{"EndTrace":{"trace_id":"' + started + '","status":"Completed"}}') == ACK, "EndTrace")
        # Legacy path.
        check(await call(ws, '{"StoreTrace":{"trace":' + T + '}}') == '{"TraceStored":{"trace_id":"' + TRACE_ID + '"}}',
              "StoreTrace -> TraceStored")
        r = json.loads(await call(ws, '{"GetTrace":{"trace_id":"' + TRACE_ID + '"}}'))
        check(r == {"TraceData": {"trace": json.loads(T)}}, "StoreTrace round trip is semantically identical")
        r = json.loads(await call(ws, '{"GetTrace":{"request_id":"07e90000-0000-4000-8000-000000000003",'
                                      '"trace_id":"5e1ec7ed-0000-4000-8000-0000000000ff"}}'))
        check(r == {"TraceData": {"request_id": "07e90000-0000-4000-8000-000000000003", "trace": None}},
              "GetTrace missing with request_id")
        check(await call(ws, '{"Subscribe":{"filter":{"flow_ids":null,"actor_ids":null,"event_types":null,'
                             '"status_filter":null}}}') ==
              '{"Error":{"message":"Legacy subscription format - use TracingRequest::Subscribe instead"}}',
              "legacy Subscribe -> legacy error without code")
        r = json.loads(await call(ws, '"GetMetrics"'))
        check(list(r["Metrics"]["data"]) == ["connections_active", "connections_total", "messages_received",
                                             "messages_sent", "errors_total", "traces_stored", "traces_queried"],
              "GetMetrics -> 7 counters")
        for bad in ['{"Ping":{}}', '"ping"', 'garbage', '{"GetTrace":{}}']:
            r = await call(ws, bad)
            check(r.startswith('{"Error":{"message":"Invalid message format: '), "bad input %r -> Error" % bad)
        check(await call(ws, '"Ping"') == '"Pong"', "connection stays open after bad input")
        # A zstd-compressed Binary request.
        await ws.send(zstd(b'"Ping"', False))
        check((await recv_json(ws))[0] == '"Pong"', "zstd Binary request")


async def golden(uri):
    with open(os.path.join(SHARED, "data", "reflow-wire-samples.ndjson")) as f:
        lines = [l.rstrip("\n") for l in f]
    gold = lambda name: json.loads([l for l in lines[29:] if l.startswith('{"' + name + '"')][0])
    async with websockets.connect(uri, compression="deflate", max_size=None) as ws:
        expect = {1: "TraceStarted", 2: "EventRecorded", 3: "TraceData", 4: "QueryResults", 5: "FlowVersions",
                  6: "Pong", 7: "EventRecorded", 8: "EventRecorded", 9: "TraceStored", 10: "QueryResults",
                  11: "TraceData", 12: "Error", 13: "Metrics"}
        for n in range(14, 25):
            expect[n] = "EventRecorded"
        for n in range(25, 30):
            expect[n] = "TraceStored"
        for n in range(1, 30):
            text = await call(ws, lines[n - 1])
            r = json.loads(text)
            name = r if isinstance(r, str) else next(iter(r))
            check(name == expect[n], "golden line %d -> %s (got %s)" % (n, expect[n], text[:120]))
        # Reply shapes against the golden reply lines.
        check(await call(ws, lines[5]) == lines[36], "Pong is byte-identical to the golden line 37")
        r = json.loads(await call(ws, '{"GetTrace":{"trace_id":"00000000-0000-4000-8000-00000000dead"}}'))
        check(r == json.loads(lines[33]), "missing trace reply equals golden line 34")
        stored = json.loads(lines[28])["StoreTrace"]["trace"]
        r = json.loads(await call(ws, '{"GetTrace":{"trace_id":"' + stored["trace_id"] + '"}}'))
        check(r == {"TraceData": {"trace": stored}}, "golden StoreTrace line 29 round trip")
        check(same_shape(r, gold("TraceData")), "TraceData shape equals golden line 33")
        r = json.loads(await call(ws, '{"QueryTraces":{"query":{"flow_id":"flow-7"}}}'))
        check(r["QueryResults"]["total_count"] == 1, "QueryTraces flow-7 total_count")
        check(same_shape(r, gold("QueryResults")), "QueryResults shape equals golden line 35")
        r = json.loads(await call(ws, lines[4]))
        check(same_shape(r, gold("FlowVersions")), "FlowVersions shape equals golden line 36")
        check(r["FlowVersions"]["versions"][0]["git_hash"] == "abc123", "GetFlowVersions sees golden StartTrace")


def clickhouse_store():
    """The `tracedb serve` arguments of a fresh database on the test
    cluster's two shards, and a function that drops it."""
    shards = []
    for name in ("TRACEDB_CH_SHARD1", "TRACEDB_CH_SHARD2"):
        if not os.environ.get(name):
            print("reflow interop: --clickhouse needs %s (ctest sets it; docs/scale-out.md)" % name, file=sys.stderr)
            sys.exit(1)
        shards.append(os.environ[name])
    database = "tracedb_interop_%d_%d" % (os.getpid(), int(time.time()))

    def drop():
        for url in shards:
            req = urllib.request.Request(url + "/", data=("DROP DATABASE IF EXISTS " + database).encode())
            try:
                urllib.request.urlopen(req, timeout=30).read()
            except OSError as e:
                print("reflow interop: dropping %s on %s: %s" % (database, url, e), file=sys.stderr)

    return ["--set", "storage.backend=clickhouse", "--set", "clickhouse.shards=" + ",".join(shards),
            "--set", "clickhouse.database=" + database], drop


def main():
    store, drop = ["--memory"], lambda: None
    if sys.argv[3:] == ["--clickhouse"]:
        store, drop = clickhouse_store()
    elif sys.argv[3:]:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    with tempfile.TemporaryDirectory() as tmp:
        port_file = os.path.join(tmp, "port")
        proc = subprocess.Popen([TRACEDB, "serve"] + store + ["--listen", "127.0.0.1:0", "--port-file", port_file])
        try:
            for _ in range(200):
                if os.path.exists(port_file):
                    break
                time.sleep(0.05)
            port = int(open(port_file).read())
            uri = "ws://127.0.0.1:%d/" % port
            asyncio.run(section5(uri))
            asyncio.run(golden(uri))
        finally:
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=30)
            check(rc == 0, "server exits 0 on SIGTERM (rc=%d)" % rc)
            drop()
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("reflow interop: all checks passed")


if __name__ == "__main__":
    main()
