// The trace page (/traces/{id}): header, search within the trace, the
// virtualised timeline, and the panel of the selected event (collapsible
// JSON). operonx requests add their tree, turns and cost views.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { html } from './html.js';
import { getJson } from './api.js';
import { Timeline } from './timeline.js';
import { JsonView } from './json_view.js';
import { criticalPath, traceModel } from './trace_model.js';
import { formatDuration } from './format.js';
import { OperonxViews } from './operonx_views.js';

export function TracePage({ id }) {
  const [state, setState] = useState({ loading: true });
  const [selected, setSelected] = useState(null);
  const [find, setFind] = useState('');
  const [epoch, setEpoch] = useState(0);  // bumped by "refresh"
  useEffect(() => {
    setState((s) => (s.model ? s : { loading: true }));
    getJson(`/v1/traces/${encodeURIComponent(id)}`)
      .then((raw) => setState({ raw, model: traceModel(raw) }))
      .catch((error) => setState({ error }));
  }, [id, epoch]);
  useEffect(() => setSelected(null), [id]);
  const refresh = html`<button onClick=${() => setEpoch(epoch + 1)}>refresh</button>`;

  const model = state.model;
  const matches = useMemo(() => {
    if (!model || !find.trim()) return null;
    const needle = find.trim().toLowerCase();
    return new Set(model.events.filter((e) => (e.text ??= JSON.stringify(e.raw).toLowerCase()).includes(needle)
                                             || e.row.toLowerCase().includes(needle)).map((e) => e.i));
  }, [model, find]);
  const critical = useMemo(() => (model ? criticalPath(model) : new Set()), [model]);

  if (state.loading) return html`<section class="page"><div class="muted">loading trace ${id}…</div></section>`;
  if (state.error) {
    if (state.error.status === 401) return null;
    // A trace is readable once its first batch is durable: right after
    // ingest it may not be there yet.
    const hint = state.error.status === 404 ? ' (if it was just sent, it may still be arriving)' : '';
    return html`<section class="page"><div class="error" role="alert">${state.error.message}${hint} ${refresh}</div></section>`;
  }
  const rendered = () => {
    if (document.body.dataset.traceRenderedMs) return;
    document.body.dataset.traceRenderedMs = String(Math.round(performance.now()));
  };
  return html`<section class="page trace">
    <header class="trace-head">
      <h1><span class="muted">${model.source} trace</span> <span class="mono" data-testid="trace-id">${model.id}</span></h1>
      <div class="trace-facts">
        <span>${model.title}</span>
        <span class=${`status status-${String(model.status).toLowerCase()}`}>${model.status}</span>
        <span data-testid="event-count">${model.events.length} events</span>
        <span>${model.rows.length} ${model.kind === 'span' ? 'spans' : model.kind === 'op' ? 'ops' : 'actors'}</span>
        <span>${formatDuration(model.durationNs)}</span>
        ${/running|pending/i.test(String(model.status)) && html`<span class="muted">still receiving</span>`} ${refresh}
        <a href=${`/graph?trace=${encodeURIComponent(model.id)}`}>data-flow graph</a>
        ${critical.size > 0 && html`<span class="critical-key">critical path highlighted</span>`}
      </div>
      <div class="trace-find">
        <input type="search" placeholder="search in this trace (actor, type, any field)" value=${find}
          onInput=${(e) => setFind(e.target.value)} aria-label="search in trace" />
        ${matches && html`<span data-testid="matches">${matches.size} matching events</span>`}
      </div>
    </header>
    <div class="trace-body">
      <${Timeline} model=${model} selected=${selected} matches=${matches} critical=${critical}
        onSelect=${setSelected} onRendered=${rendered} />
      <aside class="event-panel">
        ${selected ? html`<h2>${selected.label}</h2><div class="muted">at +${formatDuration(selected.t)}</div>
                            <${JsonView} value=${selected.raw} />`
                   : html`<div class="muted">click an event mark to see every field</div>`}
        ${model.source === 'operonx' && html`<${OperonxViews} id=${model.id} />`}
      </aside>
    </div>
  </section>`;
}
