// One shape for the three trace JSONs the server returns (GET
// /v1/traces/{id}): Reflow FlowTraces (events per actor), OpenTelemetry
// traces (spans) and operonx requests (events per op). The timeline draws
// rows; each row has marks (events) and optionally a bar (a span).
//
//   model = {id, title, source, status, durationNs, rows: [Row], events: [Ev]}
//   Row   = {key, label, sub, start, end, events: [Ev]}   times in ns since the trace start
//   Ev    = {i, t, row, type, label, raw, to?}            `to`: the row key a DataFlow goes to
import { isoToNs } from './format.js';

// ns between two unix-nano strings, exact (BigInt), as a Number.
const nanoDiff = (a, b) => Number(BigInt(a) - BigInt(b));

function eventTypeName(t) {
  if (typeof t === 'string') return t;
  if (t && typeof t === 'object') return Object.keys(t)[0] ?? '?';
  return '?';
}

function finish(model) {
  const rows = new Map();
  for (const ev of model.events) {
    let row = rows.get(ev.row);
    if (!row) {
      row = { key: ev.row, label: ev.rowLabel ?? ev.row, sub: ev.rowSub ?? '', start: ev.t, end: ev.t, events: [] };
      rows.set(ev.row, row);
    }
    row.events.push(ev);
    row.start = Math.min(row.start, ev.t);
    row.end = Math.max(row.end, ev.end ?? ev.t);
  }
  for (const row of rows.values()) row.events.sort((a, b) => a.t - b.t);
  model.rows = [...rows.values()].sort((a, b) => a.start - b.start || a.label.localeCompare(b.label));
  model.rowIndex = new Map(model.rows.map((r, i) => [r.key, i]));
  model.durationNs = model.rows.reduce((m, r) => Math.max(m, r.end), Math.max(1, model.durationNs || 0));
  return model;
}

function fromReflow(t) {
  // The trace's start is when the server saw StartTrace; a client's clock
  // may put its events earlier: the timeline starts at the earliest.
  let t0 = isoToNs(t.start_time);
  for (const e of t.events ?? []) {
    const ts = isoToNs(e.timestamp);
    if (!(ts >= t0)) t0 = Number.isNaN(t0) ? ts : Math.min(t0, ts);
  }
  const events = (t.events ?? []).map((e, i) => {
    const type = eventTypeName(e.event_type);
    const flow = type === 'DataFlow' ? e.event_type.DataFlow : null;
    return { i, t: isoToNs(e.timestamp) - t0, row: e.actor_id, type, label: `${type} · ${e.actor_id}`, raw: e,
             to: flow ? flow.to_actor : undefined };
  });
  return finish({ id: t.trace_id, title: t.flow_id, source: 'reflow', status: statusText(t.status),
                  durationNs: t.end_time ? isoToNs(t.end_time) - t0 : 0, events, kind: 'actor' });
}

function statusText(s) {
  if (typeof s === 'string') return s;
  if (s && typeof s === 'object') return Object.keys(s)[0];
  return '';
}

function fromOtel(t) {
  const t0 = t.start_time_unix_nano;
  const events = [];
  for (const s of t.spans ?? []) {
    const service = s.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue ?? t.service;
    const start = nanoDiff(s.start_time_unix_nano, t0);
    const end = s.end_time_unix_nano ? nanoDiff(s.end_time_unix_nano, t0) : start;
    const base = { row: s.span_id, rowLabel: s.name, rowSub: service, raw: s };
    events.push({ ...base, i: events.length, t: start, end, type: 'span', label: `${s.name} (${s.kind})`,
                  error: s.status?.code === 'error', parent: s.parent_span_id });
    for (const e of s.events ?? []) {
      events.push({ ...base, i: events.length, t: nanoDiff(e.time_unix_nano, t0), type: e.name, label: e.name, raw: e });
    }
  }
  return finish({ id: t.trace_id, title: `${t.service}: ${t.name}`, source: 'otel', status: t.status,
                  durationNs: t.end_time_unix_nano ? nanoDiff(t.end_time_unix_nano, t0) : 0, events, kind: 'span' });
}

function fromOperonx(t) {
  const t0 = isoToNs(t.start);
  const events = (t.events ?? []).map((e, i) => {
    const op = e.op_name || e.kind;
    return { i, t: isoToNs(e.timestamp) - t0, row: op, type: e.kind, label: `${e.kind} · ${op}`, raw: e };
  });
  return finish({ id: t.request_id, title: t.workflow_name, source: 'operonx', status: t.status,
                  durationNs: t.end ? isoToNs(t.end) - t0 : 0, events, kind: 'op' });
}

export function traceModel(t) {
  if (t.source === 'otel' || Array.isArray(t.spans)) return fromOtel(t);
  if (t.request_id !== undefined && t.workflow_name !== undefined) return fromOperonx(t);
  return fromReflow(t);
}

// The critical path of a span tree: from the root, repeatedly the child
// that ends last (the one the parent waited for). Returns a Set of row keys.
export function criticalPath(model) {
  if (model.kind !== 'span') return new Set();
  const spans = model.events.filter((e) => e.type === 'span');
  const children = new Map();
  for (const s of spans) {
    if (!children.has(s.parent)) children.set(s.parent, []);
    children.get(s.parent).push(s);
  }
  const ids = new Set(spans.map((s) => s.row));
  const roots = spans.filter((s) => !s.parent || !ids.has(s.parent));
  const path = new Set();
  let cur = roots.sort((a, b) => b.end - a.end)[0];
  while (cur && !path.has(cur.row)) {
    path.add(cur.row);
    const kids = children.get(cur.row) ?? [];
    cur = kids.sort((a, b) => b.end - a.end)[0];
  }
  return path;
}
