// The search page (/): filter, time range, "N of M" results with paging, a
// duration scatter, and aggregations (a query with "| …"). The query and the
// range live in the URL (?q=&range= or &from=&to=), so a search is a link.
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { getJson } from './api.js';
import { navigate } from './router.js';
import { QueryError, QueryInput, RangePicker, withRange, splitQuery } from './query_box.js';
import { Scatter } from './scatter.js';
import { AggregateView } from './aggregate.js';
import { formatDuration, formatTime } from './format.js';

const kPage = 50;

export function rangeFromParams(params) {
  if (params.get('from') || params.get('to')) return { kind: 'abs', from: params.get('from') || '', to: params.get('to') || '' };
  return { kind: 'rel', rel: params.get('range') || 'all' };
}

export function searchHref(path, q, range) {
  const p = new URLSearchParams();
  if (q) p.set('q', q);
  if (range.kind === 'abs') { if (range.from) p.set('from', range.from); if (range.to) p.set('to', range.to); }
  else if (range.rel !== 'all') p.set('range', range.rel);
  const s = p.toString();
  return s ? `${path}?${s}` : path;
}

export function SearchPage({ params }) {
  const q = params.get('q') || '';
  const range = rangeFromParams(params);
  const [draft, setDraft] = useState(q);
  const [state, setState] = useState({ loading: true });
  const [cursors, setCursors] = useState(['']);  // cursor of each page seen
  const page = cursors.length - 1;
  const sent = withRange(q, range);

  useEffect(() => { setDraft(q); setCursors(['']); }, [params.toString()]);
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    const isAgg = splitQuery(q)[1] !== '';
    const req = isAgg ? getJson('/v1/aggregate', { q: sent.text }, { signal: ctl.signal })
                      : getJson('/v1/traces', { q: sent.text, limit: kPage, count: 1, cursor: cursors[page] }, { signal: ctl.signal });
    req.then((body) => setState({ body, isAgg }))
      .catch((error) => { if (error.name !== 'AbortError') setState({ error }); });
    return () => ctl.abort();
  }, [params.toString(), cursors]);

  const submit = (nextQ = draft, nextRange = range) => navigate(searchHref('/', nextQ.trim(), nextRange));
  return html`<section class="page search">
    <form class="search-bar" onSubmit=${(e) => { e.preventDefault(); submit(); }}>
      <${QueryInput} value=${draft} onInput=${setDraft} onSubmit=${() => submit()} range=${range} />
      <${RangePicker} range=${range} onChange=${(r) => submit(draft, r)} />
      <button type="submit">Search</button>
    </form>
    <${QueryError} query=${q} error=${state.error?.status === 400 ? state.error : null} offset=${sent.offset} />
    ${state.error && state.error.status !== 400 && state.error.status !== 401 &&
      html`<div class="error" role="alert">${state.error.message}</div>`}
    ${state.loading && html`<div class="muted">searching…</div>`}
    ${state.body && state.isAgg && html`<${AggregateView} result=${state.body} />`}
    ${state.body && !state.isAgg && html`<${Results} body=${state.body} page=${page}
        onNext=${() => setCursors([...cursors, state.body.next_cursor])}
        onPrev=${() => setCursors(cursors.slice(0, -1))} />`}
  </section>`;
}

function Results({ body, page, onNext, onPrev }) {
  const { traces, total_count: total, next_cursor: next } = body;
  const from = page * kPage;
  return html`<div class="results">
    <div class="results-head">
      <span class="count" data-testid="count">${traces.length === 0 ? 'No traces' :
        `${from + 1}–${from + traces.length} of ${total ?? '?'} traces`}</span>
      <span class="pager">
        <button disabled=${page === 0} onClick=${onPrev}>‹ newer</button>
        <button disabled=${!next} onClick=${onNext}>older ›</button>
      </span>
    </div>
    ${traces.length > 0 && html`<${Scatter} traces=${traces} onOpen=${(t) => navigate(`/traces/${t.trace_id}`)} />`}
    <table class="table traces">
      <thead><tr><th>trace id</th><th>flow / service</th><th>status</th><th>start</th><th class="num">duration</th><th>source</th></tr></thead>
      <tbody>${traces.map((t) => html`<tr>
        <td><a class="mono" href=${`/traces/${t.trace_id}`}>${t.trace_id}</a></td>
        <td>${t.flow}</td>
        <td><span class=${`status status-${t.status}`}>${t.status}</span></td>
        <td class="mono">${formatTime(t.start)}</td>
        <td class="num">${formatDuration(t.duration_ns)}</td>
        <td>${t.source}</td></tr>`)}
      </tbody>
    </table>
  </div>`;
}
