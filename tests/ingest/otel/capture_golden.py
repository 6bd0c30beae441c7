#!/usr/bin/env python3
"""Captures what the real OpenTelemetry JS exporter POSTs, into golden/.

Installs the pinned npm packages into a scratch directory, serves
127.0.0.1:<free port> with a tiny http.server that writes each request body
(chunked or Content-Length) to a file, and runs capture_golden.mjs once per
encoding. Not part of the test suite: the captured bodies are committed and
tests/ingest/otel/golden_test.cc decodes them.

    python3 tests/ingest/otel/capture_golden.py [--scratch /tmp/otel-capture]
"""
import argparse
import http.server
import os
import pathlib
import subprocess
import threading

HERE = pathlib.Path(__file__).resolve().parent
PACKAGES = [
    "@opentelemetry/api@1.9.1",
    "@opentelemetry/sdk-trace-node@2.12.1",
    "@opentelemetry/sdk-trace-base@2.12.1",
    "@opentelemetry/resources@2.12.1",
    "@opentelemetry/exporter-trace-otlp-http@0.223.1",
    "@opentelemetry/exporter-trace-otlp-proto@0.223.1",
]


class Capture(http.server.BaseHTTPRequestHandler):
    bodies = []  # (headers dict, body bytes), in arrival order

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_POST(self):
        body = self._read_body()
        Capture.bodies.append((dict(self.headers.items()), body))
        ctype = self.headers.get("Content-Type", "")
        reply = b"{}" if "json" in ctype else b""
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scratch", default="/tmp/otel-capture")
    ap.add_argument("--out", default=str(HERE / "golden"))
    args = ap.parse_args()
    scratch = pathlib.Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    if not (scratch / "node_modules/@opentelemetry/exporter-trace-otlp-proto").exists():
        subprocess.run(["npm", "init", "-y"], cwd=scratch, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", *PACKAGES], cwd=scratch, check=True)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, NODE_MODULES_DIR=str(scratch / "node_modules"))
    for mode, name in (("json", "js_exporter.json"), ("proto", "js_exporter.binpb")):
        Capture.bodies.clear()
        subprocess.run(["node", str(HERE / "capture_golden.mjs"), mode, url], env=env, check=True)
        if len(Capture.bodies) != 1:
            raise SystemExit(f"{mode}: expected one request, got {len(Capture.bodies)}")
        headers, body = Capture.bodies[0]
        (out / name).write_bytes(body)
        print(f"{name}: {len(body)} bytes, Content-Type {headers.get('Content-Type')}, "
              f"Transfer-Encoding {headers.get('Transfer-Encoding')}, User-Agent {headers.get('User-Agent')}")
    server.shutdown()


if __name__ == "__main__":
    main()
