// The data-flow graph page (/graph?trace=ID or /graph?q=FILTER&range=…):
// the server's graph (GET /v1/graph, docs/graph.md) laid out left to right
// by dagre and drawn as SVG; edge width by message count, colour red for
// edges with errors, else blue → orange by p99 transfer time; a click on an
// edge lists its events (found by a search for the edge, then read from the
// first traces with graph_model.js).
import dagre from '@dagrejs/dagre';
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { getJson } from './api.js';
import { navigate } from './router.js';
import { addTrace, emptyGraph } from './graph_model.js';
import { QueryError, QueryInput, RangePicker, rangeParams, withRange } from './query_box.js';
import { rangeFromParams, searchHref } from './search.js';
import { formatDuration } from './format.js';
import { JsonView } from './json_view.js';

const kEdgeTraces = 10;  // traces read to list a clicked edge's events

const quote = (s) => `"${String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

// The filter of the page: the user's, or one trace (a UUID / 32 hex digits
// is a trace id, anything else an operonx request id).
export function graphFilter(params) {
  const one = params.get('trace');
  if (!one) return params.get('q') || '';
  return /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(one)
    ? `trace_id = ${quote(one)}` : `request_id = ${quote(one)}`;
}

function layout(g) {
  if (g.nodes.length === 0) return null;
  const d = new dagre.graphlib.Graph({ multigraph: true });
  d.setGraph({ rankdir: 'LR', nodesep: 30, ranksep: 90, marginx: 20, marginy: 20 });
  d.setDefaultEdgeLabel(() => ({}));
  for (const n of g.nodes) d.setNode(n.id, { width: Math.max(90, n.id.length * 7.5 + 24), height: 34 });
  g.edges.forEach((e, i) => d.setEdge(e.from, e.to, {}, String(i)));
  dagre.layout(d);
  return d;
}

function edgeColour(e, maxP99) {
  if (e.errors > 0) return '#dc2626';
  const f = maxP99 > 0 && e.p99_ns !== null ? e.p99_ns / maxP99 : 0;
  return `hsl(${210 - 170 * f} 70% 45%)`;
}

export function GraphPage({ params }) {
  const [state, setState] = useState({ loading: true });
  const [picked, setPicked] = useState(null);
  const [draft, setDraft] = useState(params.get('q') || '');
  const range = rangeFromParams(params);
  const filter = graphFilter(params);
  const bounds = params.get('trace') ? {} : rangeParams(range);
  useEffect(() => {
    setState({ loading: true });
    setPicked(null);
    getJson('/v1/graph', { q: filter, ...bounds })
      .then((g) => setState({ g, d: layout(g) })).catch((error) => setState({ error }));
  }, [params.toString()]);
  const submit = (q = draft, r = range) => navigate(searchHref('/graph', q.trim(), r));

  return html`<section class="page graph">
    ${!params.get('trace') && html`<form class="search-bar" onSubmit=${(e) => { e.preventDefault(); submit(); }}>
      <${QueryInput} value=${draft} onInput=${setDraft} onSubmit=${() => submit()} range=${range} />
      <${RangePicker} range=${range} onChange=${(r) => submit(draft, r)} />
      <button type="submit">Graph</button>
    </form>`}
    ${params.get('trace') && html`<h1>data flow of <a class="mono" href=${`/traces/${params.get('trace')}`}>${params.get('trace')}</a></h1>`}
    <${QueryError} query=${params.get('q') || ''} error=${state.error?.status === 400 ? state.error : null} offset=${0} />
    ${state.error && state.error.status !== 400 && state.error.status !== 401 && html`<div class="error" role="alert">${state.error.message}</div>`}
    ${state.loading && html`<div class="muted">building the graph…</div>`}
    ${state.g && html`<${GraphView} g=${state.g} d=${state.d} picked=${picked} onPick=${setPicked} />`}
    ${picked && html`<${EdgePanel} edge=${picked} filter=${filter} range=${params.get('trace') ? { kind: 'rel', rel: 'all' } : range} />`}
  </section>`;
}

function GraphView({ g, d, picked, onPick }) {
  const { edges } = g;
  const maxCount = Math.max(1, ...edges.map((e) => e.count));
  const maxP99 = Math.max(0, ...edges.map((e) => e.p99_ns ?? 0));
  if (!d) return html`<div class="muted" data-testid="graph-summary">no events in ${g.traces} trace(s)</div>`;
  const { width = 400, height = 200 } = d.graph();
  return html`<div class="graph-body">
    <div class="muted" data-testid="graph-summary">${g.nodes.length} nodes, ${edges.length} edges from ${g.traces} trace(s)</div>
    ${edges.length === 0 && html`<div class="muted">no data flows (DataFlow events or parent → child spans) in these traces</div>`}
    <svg class="dag" width=${width} height=${height} viewBox=${`0 0 ${width} ${height}`}>
      <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse">
        <path d="M 0 0 L 10 5 L 0 10 z" fill="#64748b" /></marker></defs>
      ${edges.map((e, i) => {
        const pts = d.edge({ v: e.from, w: e.to, name: String(i) }).points;
        const path = `M ${pts.map((p) => `${p.x} ${p.y}`).join(' L ')}`;
        const mid = pts[Math.floor(pts.length / 2)];
        return html`<g class=${`edge ${picked === e ? 'picked' : ''}`} onClick=${() => onPick(e)}>
          <title>${e.from}${e.from_port ? `:${e.from_port}` : ''} → ${e.to}${e.to_port ? `:${e.to_port}` : ''}: ${e.count} messages, ${e.errors} errors, p99 ${formatDuration(e.p99_ns)}</title>
          <path d=${path} stroke=${edgeColour(e, maxP99)} stroke-width=${1.5 + (6 * e.count) / maxCount} fill="none" marker-end="url(#arrow)" />
          <path d=${path} stroke="transparent" stroke-width="14" fill="none" />
          <text x=${mid.x} y=${mid.y - 6} class="edge-label">${e.count}</text>
        </g>`;
      })}
      ${g.nodes.map((n) => {
        const p = d.node(n.id);
        return html`<g class=${`node ${n.errors > 0 ? 'node-errors' : ''}`} transform=${`translate(${p.x - p.width / 2},${p.y - p.height / 2})`}>
          <title>${n.id} (${n.kind}): ${n.events} events, ${n.errors} errors, p99 ${formatDuration(n.p99_ns)}</title>
          <rect width=${p.width} height=${p.height} rx="6" />
          <text x=${p.width / 2} y=${p.height / 2 + 4} text-anchor="middle">${n.id}</text>
        </g>`;
      })}
    </svg>
  </div>`;
}

// The events of one edge: the traces of the filter that hold it (a search),
// the first kEdgeTraces of them read and their matching events listed.
function EdgePanel({ edge, filter, range }) {
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    const otel = !edge.from_port && !edge.to_port;
    const cond = otel ? `service = ${quote(edge.from)} and service = ${quote(edge.to)}`
      : `event{type = data_flow and actor = ${quote(edge.from)} and to_actor = ${quote(edge.to)}}`;
    const q = withRange(filter ? `(${filter}) and ${cond}` : cond, range).text;
    setState({ loading: true });
    getJson('/v1/traces', { q, limit: kEdgeTraces, count: 1 })
      .then(async (found) => {
        const g = emptyGraph();
        for (const t of found.traces) addTrace(g, await getJson(`/v1/traces/${encodeURIComponent(t.trace_id)}`));
        const e = g.edges.get(`${edge.from}→${edge.to}`);
        const samePorts = (ev) => (ev.raw.data?.port ?? '') === (edge.from_port ?? '') &&
          (ev.raw.event_type?.DataFlow?.to_port ?? '') === (edge.to_port ?? '');
        const events = (e?.events ?? []).filter((ev) => otel || samePorts(ev));
        setState({ events, traces: found.traces.length, total: found.total_count });
      })
      .catch((error) => setState({ error }));
  }, [edge]);
  return html`<div class="edge-panel">
    <h2>${edge.from}${edge.from_port ? `:${edge.from_port}` : ''} → ${edge.to}${edge.to_port ? `:${edge.to_port}` : ''}</h2>
    <div>${edge.count} messages, ${edge.errors} errors, p50 ${formatDuration(edge.p50_ns)}, p99 ${formatDuration(edge.p99_ns)}${edge.bytes ? `, ${edge.bytes} bytes` : ''}</div>
    ${edge.message_types?.length > 0 && html`<div class="muted">${edge.message_types.join(', ')}</div>`}
    ${state.loading && html`<div class="muted">finding its events…</div>`}
    ${state.error && html`<div class="error">${state.error.message}</div>`}
    ${state.events && html`<div class="muted" data-testid="edge-events">${state.events.length} events from ${state.traces} of ${state.total ?? '?'} traces</div>
      <ul class="edge-events">${state.events.slice(0, 50).map((ev) => html`<li>
        <a class="mono" href=${`/traces/${ev.traceId}`}>${ev.traceId}</a>
        <details><summary>${ev.raw.event_id ?? ev.raw.span_id ?? 'event'}</summary><${JsonView} value=${ev.raw} /></details></li>`)}
      </ul>`}
  </div>`;
}
