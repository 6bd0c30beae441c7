#!/usr/bin/python3
"""Online backup and restore with the real `tracedb serve` (docs/operations.md).

A client ingests Reflow traces over HTTP without pause (one request per
trace: StartTrace, 10 events, EndTrace), while:

  * `tracedb backup --server` with a plain API key is refused (403), the
    admin key is required;
  * `tracedb backup --server` with the admin key takes backup 1; every trace
    whose request was acknowledged before the command started must be in it;
  * ingest goes on; a second backup (incremental) is taken.

Then the server stops, and:

  * `tracedb restore --list` shows both backups; restoring backup 1 into a
    new directory works, restoring into a non-empty one is refused;
  * `tracedb check --data` passes on the restored store (exit 0), and exits 2
    naming a store that does not exist (creating none);
  * a server on the restored store returns every trace acknowledged before
    backup 1 began, whole (10 events, Completed);
  * `tracedb backup --data` (offline) is refused while a server holds the
    store, and works once it stopped.

usage: backup_test.py <tracedb binary>
"""

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

TRACEDB = sys.argv[1]
DEADLINE = 60
ADMIN_KEY = "admin-key-1"
API_KEY = "ingest-key-1"
EVENTS = 10
VERSION = '{"major":1,"minor":0,"patch":0,"git_hash":null,"timestamp":"2025-07-10T12:00:00Z"}'


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def require(cond, msg):
    if not cond:
        fail(msg)


def trace_id(n):
    return "ba0c0000-0000-4000-8000-%012d" % n


def trace_body(n):
    tid = trace_id(n)
    lines = ['{"StartTrace":{"trace_id":"%s","flow_id":"backup","version":%s}}' % (tid, VERSION)]
    for e in range(EVENTS):
        eid = "ba0c0000-0000-4000-9000-%06d%06d" % (n, e)
        lines.append(
            '{"RecordEvent":{"trace_id":"%s","event":{"event_id":"%s","timestamp":"2025-07-10T12:00:%02dZ",'
            '"event_type":"ActorCompleted","actor_id":"actor%d","data":{"port":"out","message":null,"state_diff":null,'
            '"error":null,"performance_metrics":{"execution_time_ns":%d,"memory_usage_bytes":0,"cpu_usage_percent":'
            '0.0,"queue_depth":0,"throughput_msgs_per_sec":0.0},"custom_attributes":{}},"causality":'
            '{"parent_event_id":null,"root_cause_event_id":"%s","dependency_chain":[],"span_id":"s"}}}}'
            % (tid, eid, e, e % 3, 1000 + e, eid))
    lines.append('{"EndTrace":{"trace_id":"%s","status":"Completed"}}' % tid)
    return ("\n".join(lines) + "\n").encode()


class Server:
    def __init__(self, tmp, name, data, extra):
        self.port_file = os.path.join(tmp, name + ".port")
        self.log = os.path.join(tmp, name + ".log")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([TRACEDB, "serve", "--data", data, "--listen", "127.0.0.1:0",
                                          "--port-file", self.port_file] + extra, stderr=log)
        deadline = time.monotonic() + DEADLINE
        while not os.path.exists(self.port_file) or os.path.getsize(self.port_file) == 0:
            require(self.proc.poll() is None, "server exited while starting: " + open(self.log).read())
            require(time.monotonic() < deadline, "server did not start")
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.url = "http://127.0.0.1:%d" % self.port

    def request(self, method, path, body=None, key=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=DEADLINE)
        headers = {"Authorization": "Bearer " + key} if key else {}
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, data

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=DEADLINE)
        require(rc == 0, "server exits 0 on SIGTERM (status %d): %s" % (rc, open(self.log).read()))


class Ingester(threading.Thread):
    """Posts trace after trace; `acked` is the highest n whose reply was 200."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server, self.acked, self.stop, self.error = server, 0, False, None

    def run(self):
        n = 0
        while not self.stop:
            n += 1
            status, body = self.server.request("POST", "/v1/ingest/reflow", trace_body(n), API_KEY)
            if status != 200:
                self.error = "ingest of trace %d answered %d: %s" % (n, status, body)
                return
            self.acked = n

    def wait_for(self, n):
        deadline = time.monotonic() + DEADLINE
        while self.acked < n:
            require(self.error is None, str(self.error))
            require(time.monotonic() < deadline, "ingest did not reach %d traces" % n)
            time.sleep(0.01)


def run(args, key=None):
    env = dict(os.environ)
    env.pop("TRACEDB_API_KEY", None)
    if key:
        env["TRACEDB_API_KEY"] = key
    p = subprocess.run([TRACEDB] + args, capture_output=True, text=True, env=env, timeout=DEADLINE)
    return p.returncode, p.stdout, p.stderr


def main():
    tmp = tempfile.mkdtemp(prefix="tracedb-backup-")
    servers = []
    try:
        data, backups, restored = (os.path.join(tmp, d) for d in ("data", "backups", "restored"))
        live = Server(tmp, "live", data, ["--set", "auth.api_keys=" + API_KEY, "--set", "auth.admin_keys=" + ADMIN_KEY])
        servers.append(live)
        ingester = Ingester(live)
        ingester.start()
        ingester.wait_for(20)

        rc, out, err = run(["backup", "--server", live.url, "--to", backups], key=API_KEY)
        require(rc != 0 and "403" in err and "admin key" in err, "a plain API key is refused: %d %s %s" % (rc, out, err))
        rc, out, err = run(["backup", "--server", live.url, "--to", "relative/dir"], key=ADMIN_KEY)
        require(rc != 0 and "absolute" in err, "a relative backup path is refused: %s" % err)

        before = ingester.acked
        rc, out, err = run(["backup", "--server", live.url, "--to", backups], key=ADMIN_KEY)
        require(rc == 0, "backup 1: %d %s" % (rc, err))
        first = json.loads(out)
        require(first["backup_id"] == 1 and isinstance(first["format_version"], int) and first["format_version"] >= 1 and first["files"] > 0, "backup 1: " + out)
        ingester.wait_for(ingester.acked + 10)  # ingest went on during the backup and goes on after it
        rc, out, err = run(["backup", "--server", live.url, "--to", backups], key=ADMIN_KEY)
        require(rc == 0 and json.loads(out)["backup_id"] == 2, "backup 2: %d %s %s" % (rc, out, err))
        ingester.stop = True
        ingester.join(DEADLINE)
        require(ingester.error is None, str(ingester.error))

        rc, out, err = run(["backup", "--data", data, "--to", os.path.join(tmp, "offline")])
        require(rc != 0 and "--server" in err, "offline backup of a served store is refused: %d %s" % (rc, err))
        live.stop()
        servers.remove(live)
        rc, out, err = run(["backup", "--data", data, "--to", os.path.join(tmp, "offline")])
        require(rc == 0 and json.loads(out)["backup_id"] == 1, "offline backup: %d %s %s" % (rc, out, err))

        rc, out, err = run(["restore", "--from", backups, "--list"])
        require(rc == 0 and len(out.strip().splitlines()) == 3, "restore --list: %s %s" % (out, err))
        rc, out, err = run(["restore", "--from", backups, "--data", restored, "--backup-id", "1"])
        require(rc == 0, "restore: %d %s" % (rc, err))
        rc, out, err = run(["restore", "--from", backups, "--data", restored])
        require(rc != 0 and "not empty" in err, "restore into a non-empty directory is refused: %s" % err)

        rc, out, err = run(["check", "--data", restored])
        require(rc == 0 and "no problems" in out, "check on the restored store: %d %s %s" % (rc, out, err))
        rc, out, err = run(["check", "--data", os.path.join(tmp, "nothing-here")])
        require(rc == 2 and "nothing-here" in err, "check of a missing store exits 2: %d %s" % (rc, err))
        require(not os.path.exists(os.path.join(tmp, "nothing-here", "CURRENT")), "check created no store")

        copy = Server(tmp, "restored", restored, [])
        servers.append(copy)
        for n in range(1, before + 1):
            status, body = copy.request("GET", "/v1/traces/" + trace_id(n))
            require(status == 200, "trace %d (acknowledged before the backup) is in the restored store: %d"
                    % (n, status))
            trace = json.loads(body)
            require(len(trace["events"]) == EVENTS, "trace %d has %d events" % (n, len(trace["events"])))
            require(trace["status"] == "Completed", "trace %d status %s" % (n, trace["status"]))
        copy.stop()
        servers.remove(copy)
        print("backup: ok (%d traces acknowledged before backup 1, %d in all)" % (before, ingester.acked))
    finally:
        for s in servers:
            if s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


main()
