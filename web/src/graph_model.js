// The data-flow edges of a few traces, computed in the page to list the
// events behind one edge of the server's graph (GET /v1/graph gives the
// aggregates, not the events): Reflow DataFlow events give actor → actor edges
// (ports and message sizes kept), OpenTelemetry parent → child spans give
// service → service edges. An edge counts its events and errors and sums
// their latency.
//
//   graph = {nodes: Map<name, {name, events}>, edges: Map<"a→b", Edge>}
//   Edge  = {from, to, count, errors, latencyNs, ports: Set, events: [{traceId, raw}]}

function edge(g, from, to) {
  for (const n of [from, to]) if (!g.nodes.has(n)) g.nodes.set(n, { name: n, events: 0 });
  const key = `${from}→${to}`;
  if (!g.edges.has(key)) g.edges.set(key, { key, from, to, count: 0, errors: 0, latencyNs: 0, ports: new Set(), events: [] });
  return g.edges.get(key);
}

function addReflow(g, t) {
  for (const e of t.events ?? []) {
    const flow = e.event_type && typeof e.event_type === 'object' ? e.event_type.DataFlow : null;
    if (!g.nodes.has(e.actor_id)) g.nodes.set(e.actor_id, { name: e.actor_id, events: 0 });
    g.nodes.get(e.actor_id).events++;
    if (!flow) continue;
    const ed = edge(g, e.actor_id, flow.to_actor);
    ed.count++;
    if (e.data?.error) ed.errors++;
    ed.latencyNs += e.data?.performance_metrics?.execution_time_ns ?? 0;
    ed.ports.add(`${e.data?.port ?? '?'} → ${flow.to_port}`);
    if (ed.events.length < 200) ed.events.push({ traceId: t.trace_id, raw: e });
  }
}

function serviceOf(s, t) {
  return s.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue ?? t.service;
}

function addOtel(g, t) {
  const byId = new Map((t.spans ?? []).map((s) => [s.span_id, s]));
  for (const s of t.spans ?? []) {
    const svc = serviceOf(s, t);
    if (!g.nodes.has(svc)) g.nodes.set(svc, { name: svc, events: 0 });
    g.nodes.get(svc).events++;
    const parent = byId.get(s.parent_span_id);
    if (!parent) continue;
    const ed = edge(g, serviceOf(parent, t), svc);
    ed.count++;
    if (s.status?.code === 'error') ed.errors++;
    ed.latencyNs += Number(s.duration_ns ?? 0);
    ed.ports.add(s.name);
    if (ed.events.length < 200) ed.events.push({ traceId: t.trace_id, raw: s });
  }
}

export function emptyGraph() { return { nodes: new Map(), edges: new Map(), traces: 0 }; }

export function addTrace(g, t) {
  g.traces++;
  if (t.source === 'otel' || Array.isArray(t.spans)) addOtel(g, t);
  else addReflow(g, t);
}
