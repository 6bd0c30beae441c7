#!/usr/bin/python3
"""The real OpenTelemetry JS SDK and OTLP/HTTP exporters against a live
`tracedb serve` (issue 18): spans exported by NodeTracerProvider +
BatchSpanProcessor + OTLPTraceExporter as OTLP/JSON and protobuf, plain and
gzip, are read back through the HTTP API with their names, parent links,
typed attributes, events, status and service; an export sent twice is stored
once; and an exporter refused with 503 + Retry-After (server.max_connections
reached) retries after the delay and delivers its spans exactly once.

The npm packages are pinned in tests/interop/otel/package-lock.json and
installed with `npm ci` into <build dir>/interop-otel (reinstalled only when
the lockfile changes), never into the source tree.

usage: otel_interop_test.py <tracedb binary> <repository root> <build dir>
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

TRACEDB, ROOT, BUILD = sys.argv[1], sys.argv[2], sys.argv[3]
SOURCE = os.path.join(ROOT, "tests", "interop", "otel")
NODE_DIR = os.path.join(BUILD, "interop-otel")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def fatal(what):
    raise SystemExit(f"FAIL: {what}")


def wait_until(done, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            fatal(f"timed out waiting for {what}")
        time.sleep(0.02)


def install_packages():
    """npm ci of the pinned lockfile into NODE_DIR, skipped when the lockfile
    installed there last is byte-identical; the exporter script is copied on
    every run (node resolves packages next to the script)."""
    os.makedirs(NODE_DIR, exist_ok=True)
    lock = os.path.join(SOURCE, "package-lock.json")
    stamp = os.path.join(NODE_DIR, "installed-package-lock.json")
    with open(lock, "rb") as f:
        wanted = f.read()
    current = None
    if os.path.exists(stamp) and os.path.isdir(os.path.join(NODE_DIR, "node_modules")):
        with open(stamp, "rb") as f:
            current = f.read()
    if current != wanted:
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(os.path.join(SOURCE, name), os.path.join(NODE_DIR, name))
        print("npm ci into", NODE_DIR, file=sys.stderr)
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=300)
        if r.returncode != 0:
            fatal(f"npm ci failed ({r.returncode}):\n{r.stdout.decode(errors='replace')}")
        with open(stamp, "wb") as f:
            f.write(wanted)
    shutil.copyfile(os.path.join(SOURCE, "export_spans.js"), os.path.join(NODE_DIR, "export_spans.js"))


class Server:
    """`tracedb serve` on 127.0.0.1, on a port it picks itself (--port-file)."""

    def __init__(self, tmp, name, *settings):
        self.data = os.path.join(tmp, name)
        port_file = os.path.join(tmp, name + ".port")
        self.log_path = os.path.join(tmp, name + ".log")
        self.log = open(self.log_path, "wb")
        args = [TRACEDB, "serve", "--data", self.data, "--listen", "127.0.0.1:0", "--port-file", port_file]
        for s in settings:
            args += ["--set", s]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        wait_until(lambda: os.path.exists(port_file) or self.proc.poll() is not None, "the port file")
        if self.proc.poll() is not None:
            fatal(f"tracedb serve exited with {self.proc.returncode}:\n{self.log_tail()}")
        wait_until(lambda: open(port_file).read().strip() != "", "the port number")
        self.port = int(open(port_file).read())
        self.url = f"http://127.0.0.1:{self.port}"

    def log_tail(self):
        with open(self.log_path, "rb") as f:
            return f.read()[-3000:].decode(errors="replace")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        check(code == 0, f"tracedb serve exit status {code} after SIGTERM:\n{self.log_tail()}")


def http_get(url):
    """(status, body bytes, headers)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def run_exporter(server, encoding, compression, service, repeat, on_exporting=None):
    """Runs export_spans.js; returns its JSON report. on_exporting(proc) runs
    once the script has been started (the retry check times its release
    from there)."""
    cmd = ["node", os.path.join(NODE_DIR, "export_spans.js"), server.url + "/v1/traces", encoding, compression,
           service, str(repeat)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if on_exporting:
        on_exporting(proc)
    try:
        out, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        fatal(f"{' '.join(cmd)} did not finish in 90 s")
    err = err.decode(errors="replace").replace("export_spans: exporting\n", "")
    if err.strip():
        print(f"[{service} stderr] {err.strip()}", file=sys.stderr)
    if not out.strip():
        fatal(f"{service}: the exporter printed nothing (exit {proc.returncode}):\n{err}")
    report = json.loads(out)
    if not check(proc.returncode == 0, f"{service}: an export failed: {report['exports']} "
                                       f"(shutdown: {report.get('shutdown_error')})"):
        fatal(f"{service}: the exporter could not deliver its spans; nothing further to check")
    check(len(report["exports"]) == repeat, f"{service}: {len(report['exports'])} exports, wanted {repeat}")
    check(len(report["spans"]) == 4 * len(report["trace_ids"]) and len(report["trace_ids"]) == 2,
          f"{service}: the script made {len(report['spans'])} spans in {len(report['trace_ids'])} traces")
    return report


# ---- Reading a trace back --------------------------------------------------------------------------

def uuid_form(hex32):
    h = hex32.lower()
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def norm_id(v):
    """An id as lowercase hex without dashes (the API may print UUID text)."""
    return v.replace("-", "").lower() if isinstance(v, str) else v


def typed(value):
    """An attribute value as (type, value): the OTLP AnyValue form
    ({"stringValue": ...}) or a plain JSON value."""
    if isinstance(value, dict):
        if "stringValue" in value:
            return ("string", value["stringValue"])
        if "intValue" in value:
            return ("int", int(value["intValue"]))
        if "doubleValue" in value:
            return ("double", float(value["doubleValue"]))
        if "boolValue" in value:
            return ("bool", bool(value["boolValue"]))
        if "arrayValue" in value:
            return ("array", [typed(v) for v in value["arrayValue"].get("values", [])])
        return ("object", value)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("double", value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", [typed(v) for v in value])
    return ("unknown", value)


def attributes(attrs):
    """{key: (type, value)} from an OTLP KeyValue list or a JSON object."""
    if isinstance(attrs, list):
        return {kv["key"]: typed(kv.get("value", {})) for kv in attrs}
    if isinstance(attrs, dict):
        return {k: typed(v) for k, v in attrs.items()}
    return {}


def first(d, *keys):
    for k in keys:
        if k in d:
            return d[k]
    return None


def find_spans(doc, service=None, out=None):
    """Every object of the trace JSON that carries a span id, with the
    service.name of its enclosing resource (OTLP's resourceSpans nesting) or
    of its own resource."""
    if out is None:
        out = []
    if isinstance(doc, dict):
        resource = doc.get("resource")
        if isinstance(resource, dict):
            svc = attributes(resource.get("attributes", [])).get("service.name")
            if svc:
                service = svc[1]
        sid = first(doc, "spanId", "span_id")
        # A 16-hex span id only: the Reflow rendering has "span_id": "" in
        # every event's causality.
        if isinstance(sid, str) and len(norm_id(sid)) == 16:
            out.append((doc, service))
        for v in doc.values():
            find_spans(v, service, out)
    elif isinstance(doc, list):
        for v in doc:
            find_spans(v, service, out)
    return out


def status_of(span):
    st = span.get("status")
    if isinstance(st, dict):
        # tracedb's trace JSON: "code" is the name, "code_value" the OTLP number.
        return int(st.get("code_value", st.get("code", 0))), st.get("message", "")
    return int(first(span, "status_code", "statusCode") or 0), first(span, "status_message", "statusMessage") or ""


STRING, INT, DOUBLE, BOOL = "string", "int", "double", "bool"


def expected_attributes(name, index):
    if name == "checkout":
        return {"http.method": (STRING, "POST"), "http.route": (STRING, "/checkout/{cart}"),
                "http.status_code": (INT, 200 if index == 0 else 500), "ratio": (DOUBLE, 0.25),
                "cache.hit": (BOOL, True), "tags": ("array", [(STRING, "alpha"), (STRING, "beta")]),
                "sizes": ("array", [(INT, 1), (INT, 2), (INT, 3)]), "trace.index": (INT, index)}
    if name == "db.query":
        return {"db.system": (STRING, "postgresql"), "db.rows": (INT, 42), "big": (INT, 2 ** 53)}
    if name == "template.compile":
        return {"template.cached": (BOOL, False)}
    return {}


def get_trace(server, trace_id):
    """The trace JSON by the 32-hex id (the API's form); falls back to the
    UUID form of the same bytes so that the content is still checked."""
    status, body, _ = http_get(f"{server.url}/v1/traces/{trace_id}")
    if check(status == 200, f"GET /v1/traces/{trace_id} (32 hex) -> {status}: {body[:200]!r}"):
        return json.loads(body)
    status, body, _ = http_get(f"{server.url}/v1/traces/{uuid_form(trace_id)}")
    if not check(status == 200, f"GET /v1/traces/{uuid_form(trace_id)} -> {status}: {body[:200]!r}"):
        return None
    return json.loads(body)


def verify_trace(server, report, index):
    trace_id = report["trace_ids"][index]
    service = report["service"]
    what = f"{service} trace {index} ({trace_id})"
    doc = get_trace(server, trace_id)
    if doc is None:
        return
    found = find_spans(doc)
    sent = {s["span_id"]: s for s in report["spans"] if s["trace_id"] == trace_id}
    if not found:
        verify_reflow_form(what, doc, sent, service)
        return
    got = {}
    for span, svc in found:
        sid = norm_id(first(span, "spanId", "span_id"))
        check(sid not in got, f"{what}: span {sid} appears twice (a re-export was stored again)")
        got[sid] = (span, svc)
    check(sorted(got) == sorted(sent), f"{what}: span ids {sorted(got)}, sent {sorted(sent)}")
    check(len(found) == 4, f"{what}: {len(found)} spans read back, wanted 4")
    for sid, expected in sent.items():
        if sid not in got:
            continue
        span, svc = got[sid]
        name = span.get("name", span.get("actor"))
        check(name == expected["name"], f"{what}: span {sid} name {name!r}, sent {expected['name']!r}")
        tid = norm_id(first(span, "traceId", "trace_id") or trace_id)
        check(tid == trace_id, f"{what}: span {sid} trace id {tid}")
        parent = norm_id(first(span, "parentSpanId", "parent_span_id", "parent_id")) or None
        check(parent == expected["parent_span_id"],
              f"{what}: {name} parent {parent!r}, sent {expected['parent_span_id']!r}")
        kind = span.get("kind_code")  # tracedb's trace JSON: "kind" is the name, "kind_code" the OTLP number
        check(kind is not None and int(kind) == expected["kind"] + 1,  # SDK SpanKind 0-based, OTLP 1-based
              f"{what}: {name} kind {kind!r}, sent SDK kind {expected['kind']}")
        code, message = status_of(span)
        check(code == expected["status_code"] and message == expected["status_message"],
              f"{what}: {name} status ({code}, {message!r}), sent ({expected['status_code']}, "
              f"{expected['status_message']!r})")
        attrs = attributes(span.get("attributes", []))
        for key, want in expected_attributes(name, index).items():
            check(attrs.get(key) == want, f"{what}: {name} attribute {key} = {attrs.get(key)!r}, sent {want!r}")
        service_read = svc or (doc.get("flow_id") if isinstance(doc, dict) else None)
        check(service_read == service, f"{what}: {name} service {service_read!r}, sent {service!r}")
        if name == "db.query":
            events = span.get("events", [])
            check(len(events) == 1 and events[0].get("name") == "retry"
                  and attributes(events[0].get("attributes", [])).get("attempt") == (INT, 1),
                  f"{what}: db.query events {events!r}, sent one 'retry' with attempt = 1")
    if isinstance(doc, dict) and "status" in doc and isinstance(doc["status"], str):
        check(doc["status"] == "failed", f"{what}: trace status {doc['status']!r}, wanted failed (a span has ERROR)")


def verify_reflow_form(what, doc, sent, service):
    """The trace JSON without an OTel rendering of its spans (the Reflow
    FlowTrace: a span is an event whose event_id is the UUID text of the 8
    span-id bytes, zero-padded, and whose actor_id is the span name): checks
    what it carries (one event per span, exactly once; names; the service as
    flow_id) and fails for the rest, which it cannot show."""
    events = doc.get("events", []) if isinstance(doc, dict) else []
    got = {}
    for e in events:
        eid = norm_id(e.get("event_id", ""))
        check(eid[:16] not in got, f"{what}: span {eid[:16]} appears twice (a re-export was stored again)")
        got[eid[:16]] = e
    check(sorted(got) == sorted(sent), f"{what}: event ids {sorted(got)}, sent span ids {sorted(sent)}")
    for sid, expected in sent.items():
        if sid in got:
            check(got[sid].get("actor_id") == expected["name"],
                  f"{what}: span {sid} actor_id {got[sid].get('actor_id')!r}, sent {expected['name']!r}")
    check(doc.get("flow_id") == service, f"{what}: flow_id {doc.get('flow_id')!r}, sent service {service!r}")
    check(False, f"{what}: the trace JSON has no OTel rendering of its spans (no object with a 16-hex spanId): "
                 f"parent links, kinds, statuses, typed attributes and span events cannot be checked: "
                 f"{json.dumps(doc)[:600]}")


def search_service(server, service):
    """Trace ids (hex) that GET /v1/traces?q=flow = "<service>" finds."""
    q = urllib.parse.quote(f'flow = "{service}"')
    status, body, _ = http_get(f"{server.url}/v1/traces?q={q}&limit=100")
    if not check(status == 200, f"search flow = {service!r} -> {status}: {body[:300]!r}"):
        return []
    return sorted(norm_id(t["trace_id"]) for t in json.loads(body).get("traces", []))


def metric(server, name, labels):
    status, body, _ = http_get(f"{server.url}/metrics")
    check(status == 200, f"/metrics -> {status}")
    for line in body.decode().splitlines():
        if line.startswith(name + labels + " "):
            return float(line.split()[-1])
    return None


# ---- The test --------------------------------------------------------------------------------------

RUNS = [("json", "none"), ("proto", "none"), ("json", "gzip"), ("proto", "gzip")]

install_packages()
with tempfile.TemporaryDirectory(prefix="tracedb-otel-interop-") as tmp:
    # 1. Every encoding; each run exports its spans twice (the second time
    #    through a fresh exporter, as a retry after a lost reply would).
    server = Server(tmp, "data")
    try:
        reports = []
        for encoding, compression in RUNS:
            service = f"interop-{encoding}-{compression}"
            report = run_exporter(server, encoding, compression, service, repeat=2)
            print(f"{service}: traces {report['trace_ids']} in {report['elapsed_ms']} ms", file=sys.stderr)
            reports.append(report)
        for report in reports:
            for i in range(len(report["trace_ids"])):
                verify_trace(server, report, i)
            found = search_service(server, report["service"])
            check(found == sorted(report["trace_ids"]),
                  f"search by service {report['service']}: {found}, wanted {sorted(report['trace_ids'])}")
    finally:
        server.stop()

    # 2. Overload: with server.max_connections = 1 and one idle connection
    #    held, the exporter's first attempt is answered 503 + Retry-After: 1;
    #    the connection is released 0.3 s later and the retry, honouring
    #    Retry-After, delivers the spans once.
    server = Server(tmp, "overload", "server.max_connections=1")
    try:
        refused_before = metric(server, "tracedb_http_refusals_total", '{reason="connection_limit"}') or 0
        # The held connection must be the admitted one: it gets 200 on a
        # keep-alive request. (The metric request above may still hold the
        # only slot for a moment while it closes; then it gets 503: retry.)
        held = None
        probe_refusals = 0  # our own probes refused while the slot was taken
        deadline = time.monotonic() + 10
        while held is None and time.monotonic() < deadline:
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            head = sock.recv(4096)
            if head.startswith(b"HTTP/1.1 200"):
                held = sock
            else:
                probe_refusals += 1
                sock.close()
                time.sleep(0.05)
        check(held is not None, "overload: no connection was admitted to hold")

        def release_later(proc):
            # The script prints its marker just before the first export
            # attempt, which the held connection makes the server refuse
            # within milliseconds; the connection goes 0.3 s later, well
            # before the 1 s of Retry-After are over.
            line = proc.stderr.readline()
            check(line.strip() == b"export_spans: exporting", f"overload: unexpected first stderr line {line!r}")
            time.sleep(0.3)
            held.close()

        started = time.monotonic()
        report = run_exporter(server, "proto", "none", "interop-overload", repeat=1, on_exporting=release_later)
        elapsed = time.monotonic() - started
        check(report["exports"] and report["exports"][0]["code"] == 0,
              f"overload: the export did not succeed after retrying: {report['exports']}")
        refused = ((metric(server, "tracedb_http_refusals_total", '{reason="connection_limit"}') or 0)
                   - refused_before - probe_refusals)
        check(refused >= 1, f"overload: {refused} connection_limit refusals counted, wanted >= 1 (the exporter was "
                            "never refused, so the retry was not exercised)")
        check(report["elapsed_ms"] >= 995,  # Retry-After: 1 s, give or take the ms clock
              f"overload: the export finished after {report['elapsed_ms']} ms, before Retry-After: 1 was over")
        print(f"overload: {refused:.0f} refusals, export done in {report['elapsed_ms']} ms "
              f"({elapsed:.2f} s with node start-up)", file=sys.stderr)
        for i in range(len(report["trace_ids"])):
            verify_trace(server, report, i)
        found = search_service(server, "interop-overload")
        check(found == sorted(report["trace_ids"]), f"overload: search by service finds {found}, "
                                                    f"wanted {sorted(report['trace_ids'])}")
    finally:
        server.stop()

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("otel_interop: all checks passed")
