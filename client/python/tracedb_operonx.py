"""An operonx 0.8 trace exporter that posts batches to tracedb.

Implements operonx's ``Exporter`` protocol::

    export(events: list[TraceEvent], request_id: str, metadata: dict) -> None

Each call enqueues one batch envelope
``{"request_id", "metadata": {workflow_name, user_id, session_id, tags, partial}, "events": [...]}``
and returns at once: ``export`` never blocks and never raises (operonx swallows
exporter exceptions anyway, and a tracing outage must not slow the workflow).
A background thread posts batches to ``POST <url>/v1/ingest/operonx``
(zstd is not in the standard library, so bodies are gzip-compressed), with
the semantics of operonx 1.x's BackgroundWriter:

* bounded queue (``max_queue`` batches): when full, the batch is dropped and
  counted in ``stats["dropped"]``;
* retries with exponential backoff (0.5 s doubling to 30 s, ``max_retries``
  attempts) on connection errors, 429 and 5xx (honouring ``Retry-After``);
  4xx other than 429 are not retried (the batch is malformed);
* tracedb deduplicates on (request_id, event_id), so a retried batch that had
  in fact been stored is harmless;
* an outage is logged once, and its recovery once;
* ``flush(timeout)`` waits until the queue is drained, ``close()`` flushes and
  stops the thread; both run at interpreter exit; fork-safe (a child process
  starts its own thread on first use).

Standard library only. Wire it in with::

    from operonx.core.tracing import TracePipeline
    from tracedb_operonx import TracedbExporter

    pipeline = TracePipeline(exporters=[TracedbExporter("http://127.0.0.1:8080")])
    engine.run(inputs, tracer=pipeline)
"""

from __future__ import annotations

import atexit
import dataclasses
import datetime as _dt
import enum
import gzip
import json
import logging
import os
import queue
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Iterable, List, Optional

log = logging.getLogger("tracedb_operonx")


def _jsonable(value: Any) -> Any:
    """Converts TraceEvent fields (datetimes, enums, tuples, bytes) to JSON."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        text = value.astimezone(_dt.timezone.utc).isoformat()
        return text.replace("+00:00", "Z")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def event_to_dict(event: Any) -> Dict[str, Any]:
    """A TraceEvent (dataclass or dict) as the JSON object tracedb ingests."""
    if isinstance(event, dict):
        raw = event
    elif dataclasses.is_dataclass(event):
        raw = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    else:
        raw = {k: getattr(event, k) for k in
               ("event_id", "request_id", "kind", "op_name", "ctx", "timestamp", "seq", "payload")}
    return _jsonable(raw)


class TracedbExporter:
    """operonx Exporter posting batches to a tracedb server."""

    def __init__(self, url: str = "http://127.0.0.1:8080", *, api_key: Optional[str] = None,
                 max_queue: int = 1000, max_retries: int = 3, timeout: float = 10.0,
                 initial_backoff: float = 0.5, max_backoff: float = 30.0) -> None:
        self._endpoint = url.rstrip("/") + "/v1/ingest/operonx"
        self._api_key = api_key
        self._max_queue = max_queue
        self._max_retries = max_retries
        self._timeout = timeout
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self.stats = {"sent": 0, "events": 0, "dropped": 0, "failed": 0, "retries": 0}
        self._lock = threading.Lock()
        self._pid = -1
        self._queue: "queue.Queue[Optional[bytes]]" = queue.Queue()
        self._thread: Optional[threading.Thread] = None
        self._outage = False
        self._closed = False
        atexit.register(self.close)

    # -- the Exporter protocol ------------------------------------------------
    def export(self, events: List[Any], request_id: str, metadata: Dict[str, Any]) -> None:
        try:
            if self._closed or not events:
                return
            self._ensure_thread()
            body = json.dumps({
                "request_id": request_id,
                "metadata": _jsonable(dict(metadata or {})),
                "events": [event_to_dict(e) for e in events],
            }, separators=(",", ":")).encode()
            if self._queue.qsize() >= self._max_queue:
                with self._lock:
                    self.stats["dropped"] += 1
                return
            self._queue.put_nowait(body)
        except Exception:  # never raise into the workflow
            with self._lock:
                self.stats["dropped"] += 1

    # -- lifecycle --------------------------------------------------------------
    def flush(self, timeout: float = 30.0) -> bool:
        """Waits until every queued batch was sent or given up; True if drained."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return self._queue.unfinished_tasks == 0

    def close(self, timeout: float = 30.0) -> None:
        if self._closed:
            return
        self.flush(timeout)
        self._closed = True
        if self._thread is not None and self._pid == os.getpid():
            self._queue.put(None)
            self._thread.join(timeout)

    # -- internals --------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._pid == os.getpid() and self._thread is not None:
            return
        with self._lock:
            if self._pid != os.getpid():  # new process (fork): fresh queue and thread
                self._queue = queue.Queue()
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="tracedb-exporter", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            body = self._queue.get()
            try:
                if body is None:
                    return
                self._send(body)
            finally:
                self._queue.task_done()

    def _send(self, body: bytes) -> None:
        payload = gzip.compress(body)
        delay = self._initial_backoff
        for attempt in range(self._max_retries + 1):
            retry_after = None
            try:
                req = urllib.request.Request(self._endpoint, data=payload, method="POST")
                req.add_header("Content-Type", "application/x-ndjson")
                req.add_header("Content-Encoding", "gzip")
                if self._api_key:
                    req.add_header("Authorization", "Bearer " + self._api_key)
                with urllib.request.urlopen(req, timeout=self._timeout) as resp:
                    reply = json.loads(resp.read() or b"{}")
                with self._lock:
                    self.stats["sent"] += 1
                    self.stats["events"] += int(reply.get("accepted", 0))
                if self._outage:
                    self._outage = False
                    log.warning("tracedb exporter: connection to %s recovered", self._endpoint)
                return
            except urllib.error.HTTPError as e:
                if e.code != 429 and e.code < 500:
                    log.error("tracedb exporter: batch rejected (%s): %s", e.code, e.read()[:500])
                    break
                retry_after = e.headers.get("Retry-After")
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if not self._outage:
                self._outage = True
                log.warning("tracedb exporter: %s unreachable, retrying", self._endpoint)
            if attempt == self._max_retries:
                break
            with self._lock:
                self.stats["retries"] += 1
            wait = delay
            if retry_after:
                try:
                    wait = max(wait, float(retry_after))
                except ValueError:
                    pass
            time.sleep(min(wait, self._max_backoff))
            delay = min(delay * 2, self._max_backoff)
        with self._lock:
            self.stats["failed"] += 1


def export_files(url: str, paths: Iterable[str], **kwargs: Any) -> Dict[str, int]:
    """Posts ~/.operonx/traces/*.json files (arrays or NDJSON) through the exporter."""
    exporter = TracedbExporter(url, **kwargs)
    for path in paths:
        with open(path, "rb") as f:
            text = f.read().decode()
        stripped = text.lstrip()
        events = json.loads(stripped) if stripped.startswith("[") else \
            [json.loads(line) for line in text.splitlines() if line.strip()]
        by_request: Dict[str, List[Dict[str, Any]]] = {}
        for e in events:
            by_request.setdefault(e.get("request_id", ""), []).append(e)
        for request_id, evs in by_request.items():
            exporter.export(evs, request_id, {"partial": False})
    exporter.close()
    return exporter.stats
