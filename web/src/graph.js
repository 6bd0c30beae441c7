// The data-flow graph page (/graph?trace=ID or /graph?q=FILTER&range=…):
// laid out left to right by dagre, drawn as SVG; edge width by message
// count, colour by errors (red) or mean latency; a click on an edge lists
// its events.
import dagre from '@dagrejs/dagre';
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { getJson } from './api.js';
import { navigate } from './router.js';
import { addTrace, emptyGraph } from './graph_model.js';
import { QueryError, QueryInput, RangePicker, withRange } from './query_box.js';
import { rangeFromParams, searchHref } from './search.js';
import { formatDuration } from './format.js';
import { JsonView } from './json_view.js';

const kMaxTraces = 50;

async function loadGraph(params) {
  const g = emptyGraph();
  const one = params.get('trace');
  if (one) {
    addTrace(g, await getJson(`/v1/traces/${encodeURIComponent(one)}`));
    return g;
  }
  const sent = withRange(params.get('q') || '', rangeFromParams(params));
  const found = await getJson('/v1/traces', { q: sent.text, limit: kMaxTraces, count: 1 });
  const traces = await Promise.all(found.traces.map((t) => getJson(`/v1/traces/${t.trace_id}`)));
  traces.forEach((t) => addTrace(g, t));
  g.total = found.total_count;
  return g;
}

function layout(g) {
  if (g.nodes.size === 0) return null;
  const d = new dagre.graphlib.Graph();
  d.setGraph({ rankdir: 'LR', nodesep: 30, ranksep: 90, marginx: 20, marginy: 20 });
  d.setDefaultEdgeLabel(() => ({}));
  for (const n of g.nodes.values()) d.setNode(n.name, { width: Math.max(90, n.name.length * 7.5 + 24), height: 34 });
  for (const e of g.edges.values()) d.setEdge(e.from, e.to);
  dagre.layout(d);
  return d;
}

function edgeColour(e, maxMean) {
  if (e.errors > 0) return '#dc2626';
  const f = maxMean > 0 ? e.latencyNs / e.count / maxMean : 0;
  return `hsl(${210 - 170 * f} 70% 45%)`;
}

export function GraphPage({ params }) {
  const [state, setState] = useState({ loading: true });
  const [picked, setPicked] = useState(null);
  const [draft, setDraft] = useState(params.get('q') || '');
  const range = rangeFromParams(params);
  useEffect(() => {
    setState({ loading: true });
    setPicked(null);
    loadGraph(params).then((g) => setState({ g, d: layout(g) })).catch((error) => setState({ error }));
  }, [params.toString()]);
  const submit = (q = draft, r = range) => navigate(searchHref('/graph', q.trim(), r));
  const sent = withRange(params.get('q') || '', range);

  return html`<section class="page graph">
    ${!params.get('trace') && html`<form class="search-bar" onSubmit=${(e) => { e.preventDefault(); submit(); }}>
      <${QueryInput} value=${draft} onInput=${setDraft} onSubmit=${() => submit()} values=${{}} />
      <${RangePicker} range=${range} onChange=${(r) => submit(draft, r)} />
      <button type="submit">Graph</button>
    </form>`}
    ${params.get('trace') && html`<h1>data flow of <a class="mono" href=${`/traces/${params.get('trace')}`}>${params.get('trace')}</a></h1>`}
    <${QueryError} query=${params.get('q') || ''} error=${state.error?.status === 400 ? state.error : null} offset=${sent.offset} />
    ${state.error && state.error.status !== 400 && state.error.status !== 401 && html`<div class="error" role="alert">${state.error.message}</div>`}
    ${state.loading && html`<div class="muted">building the graph…</div>`}
    ${state.g && html`<${GraphView} g=${state.g} d=${state.d} picked=${picked} onPick=${setPicked} />`}
  </section>`;
}

function GraphView({ g, d, picked, onPick }) {
  const edges = [...g.edges.values()];
  const maxCount = Math.max(1, ...edges.map((e) => e.count));
  const maxMean = Math.max(0, ...edges.map((e) => e.latencyNs / e.count));
  if (!d) return html`<div class="muted" data-testid="graph-summary">no events in ${g.traces} trace(s)</div>`;
  const { width = 400, height = 200 } = d.graph();
  return html`<div class="graph-body">
    <div class="muted" data-testid="graph-summary">${g.nodes.size} nodes, ${edges.length} edges from ${g.traces} trace(s)${g.total > g.traces ? ` (first ${g.traces} of ${g.total})` : ''}</div>
    ${edges.length === 0 && html`<div class="muted">no data flows (DataFlow events or parent → child spans) in these traces</div>`}
    <svg class="dag" width=${width} height=${height} viewBox=${`0 0 ${width} ${height}`}>
      <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse">
        <path d="M 0 0 L 10 5 L 0 10 z" fill="#64748b" /></marker></defs>
      ${edges.map((e) => {
        const pts = d.edge(e.from, e.to).points;
        const path = `M ${pts.map((p) => `${p.x} ${p.y}`).join(' L ')}`;
        return html`<g class=${`edge ${picked === e ? 'picked' : ''}`} onClick=${() => onPick(e)}>
          <path d=${path} stroke=${edgeColour(e, maxMean)} stroke-width=${1.5 + (6 * e.count) / maxCount} fill="none" marker-end="url(#arrow)" />
          <path d=${path} stroke="transparent" stroke-width="14" fill="none" />
          <text x=${pts[Math.floor(pts.length / 2)].x} y=${pts[Math.floor(pts.length / 2)].y - 6} class="edge-label">${e.count}</text>
        </g>`;
      })}
      ${[...g.nodes.values()].map((n) => {
        const p = d.node(n.name);
        return html`<g class="node" transform=${`translate(${p.x - p.width / 2},${p.y - p.height / 2})`}>
          <rect width=${p.width} height=${p.height} rx="6" />
          <text x=${p.width / 2} y=${p.height / 2 + 4} text-anchor="middle">${n.name}</text>
        </g>`;
      })}
    </svg>
    ${picked && html`<div class="edge-panel">
      <h2>${picked.from} → ${picked.to}</h2>
      <div>${picked.count} messages, ${picked.errors} errors, mean latency ${formatDuration(Math.round(picked.latencyNs / picked.count))}</div>
      <div class="muted">${[...picked.ports].slice(0, 10).join(', ')}</div>
      <ul class="edge-events">${picked.events.slice(0, 50).map((ev) => html`<li>
        <a class="mono" href=${`/traces/${ev.traceId}`}>${ev.traceId}</a>
        <details><summary>${ev.raw.event_id ?? ev.raw.span_id ?? 'event'}</summary><${JsonView} value=${ev.raw} /></details></li>`)}
      </ul>
    </div>`}
  </div>`;
}
