// The filter-language box: the query, a time range, and the server's error
// drawn under the box with a caret at the column it reports
// ("error at LINE:COL: message", docs/query-language.md "Errors").
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { getJson } from './api.js';

export const kRanges = [
  ['15m', 'last 15 minutes'], ['1h', 'last hour'], ['6h', 'last 6 hours'], ['1d', 'last day'],
  ['7d', 'last 7 days'], ['all', 'all time'], ['abs', 'absolute…'],
];

// Splits "filter | aggregation" at the first top-level '|' (outside quotes).
export function splitQuery(q) {
  let quote = null;
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '|') return [q.slice(0, i), q.slice(i)];
  }
  return [q, ''];
}

// The query sent to the server: the user's filter in parentheses (so the
// error column moves by exactly one), then the time range, then the
// aggregation. Returns {text, offset}: the column shift of the filter.
export function withRange(q, range) {
  const [filter, agg] = splitQuery(q);
  const conds = [];
  if (range.kind === 'rel' && range.rel !== 'all') conds.push(`start > now-${range.rel}`);
  if (range.kind === 'abs') {
    if (range.from) conds.push(`start >= ${new Date(range.from).toISOString()}`);
    if (range.to) conds.push(`start <= ${new Date(range.to).toISOString()}`);
  }
  const f = filter.trim();
  if (!f) return { text: [conds.join(' and '), agg].filter(Boolean).join(' '), offset: 0, bare: true };
  const text = [[`(${filter})`, ...conds].join(' and '), agg].filter(Boolean).join(' ');
  return { text, offset: 1 };
}

// {line, col, message} of a query error message, or null.
export function parseQueryError(message) {
  const m = /error at (\d+):(\d+): ([^\n]*)/.exec(message || '');
  return m ? { line: Number(m[1]), col: Number(m[2]), message: m[3] } : null;
}

export function QueryError({ query, error, offset }) {
  if (!error) return null;
  const pos = parseQueryError(error.message);
  if (!pos) return html`<div class="query-error" role="alert"><pre>${error.message}</pre></div>`;
  const lines = query.split('\n');
  const lineText = lines[pos.line - 1] ?? '';
  const col = Math.max(0, Math.min(lineText.length, pos.col - 1 - (pos.line === 1 ? offset : 0)));
  return html`<div class="query-error" role="alert">
    <div class="query-error-message">error at ${pos.line}:${col + 1}: ${pos.message}</div>
    <pre class="query-error-caret"><span>${lineText}</span>\n<span class="caret-line">${' '.repeat(col)}^</span></pre>
  </div>`;
}

export function RangePicker({ range, onChange }) {
  const value = range.kind === 'abs' ? 'abs' : range.rel;
  return html`<span class="range">
    <select value=${value} aria-label="time range"
      onChange=${(e) => onChange(e.target.value === 'abs' ? { kind: 'abs', from: range.from || '', to: range.to || '' }
                                                           : { kind: 'rel', rel: e.target.value })}>
      ${kRanges.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
    </select>
    ${range.kind === 'abs' && html`
      <input type="datetime-local" aria-label="from" value=${range.from} onChange=${(e) => onChange({ ...range, from: e.target.value })} />
      <input type="datetime-local" aria-label="to" value=${range.to} onChange=${(e) => onChange({ ...range, to: e.target.value })} />`}
  </span>`;
}

// The language's fields (GET /v1/fields), fetched once per page load.
let fieldsPromise = null;
function loadFields() {
  if (!fieldsPromise) {
    fieldsPromise = getJson('/v1/fields').then((r) => r.fields).catch(() => { fieldsPromise = null; return []; });
  }
  return fieldsPromise;
}

// The time window of a range as /v1/fields/{name}/values parameters.
export function rangeParams(range) {
  const ms = { '15m': 9e5, '1h': 36e5, '6h': 216e5, '1d': 864e5, '7d': 6048e5 }[range.rel];
  if (range.kind === 'rel' && ms) return { start: new Date(Date.now() - ms).toISOString() };
  if (range.kind === 'abs') {
    return { start: range.from ? new Date(range.from).toISOString() : '', end: range.to ? new Date(range.to).toISOString() : '' };
  }
  return {};
}

// What the caret is completing: {kind:'value', field, partial, quoted} after
// `FIELD =` / `!=` (or inside `in (…)`), {kind:'field', partial} at a name,
// or null.
export function completionContext(text, caret) {
  const before = text.slice(0, caret);
  const inAggregation = splitQuery(before)[1] !== '';
  const value = !inAggregation &&
    /([A-Za-z_][\w.]*)\s*(?:=|!=|(?:not\s+)?in\s*\((?:[^()]*,)?)\s*(?:"([^"]*)|([\w.:-]*))$/.exec(before);
  if (value) {
    const quoted = value[2] !== undefined;
    return { kind: 'value', field: value[1], quoted, partial: quoted ? value[2] : value[3] };
  }
  const word = /(?:^|[\s({!,])([A-Za-z_][\w.]*)$/.exec(before);
  if (word) return { kind: 'field', partial: word[1] };
  return null;
}

// A value as the language writes it: enum names bare, other strings quoted.
function valueText(field, value) {
  const bare = field && ['status', 'event_type', 'event_status'].includes(field.type);
  const numeric = field && ['int', 'float', 'duration'].includes(field.type);
  return bare || numeric ? value : `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

// Completion options [{insert, label, count}] for the caret, from the field
// list and the server's top values (GET /v1/fields/{name}/values) in `range`.
function useCompletions(text, caret, open, range) {
  const [fields, setFields] = useState([]);
  const [values, setValues] = useState({ key: '', list: [] });
  useEffect(() => { loadFields().then(setFields); }, []);
  const ctx = open ? completionContext(text, caret) : null;
  const field = ctx?.kind === 'value' ? fields.find((f) => f.name === ctx.field || ctx.field.startsWith(`${f.name}.`)) : null;
  const key = ctx?.kind === 'value' && field && field.type !== 'time' && field.type !== 'id'
    ? JSON.stringify([ctx.field, ctx.partial, range]) : '';
  useEffect(() => {
    if (!key) return undefined;
    const ctl = new AbortController();
    const timer = setTimeout(() => {
      getJson(`/v1/fields/${encodeURIComponent(ctx.field)}/values`, { prefix: ctx.partial, limit: 10, ...rangeParams(range) },
              { signal: ctl.signal })
        .then((r) => setValues({ key, list: r.values }))
        .catch(() => {});
    }, 120);
    return () => { clearTimeout(timer); ctl.abort(); };
  }, [key]);
  if (!ctx) return [];
  if (ctx.kind === 'field') {
    if (!ctx.partial) return [];
    return fields.filter((f) => f.name.startsWith(ctx.partial) && f.name !== ctx.partial)
      .map((f) => ({ insert: f.needs_key ? `${f.name}.` : f.name, label: f.name, note: f.type }));
  }
  if (!field) return [];
  const seen = values.key === key ? values.list : [];
  const opts = seen.map((v) => ({ insert: valueText(field, v.value), label: valueText(field, v.value), count: v.count }));
  // Enumerated fields also offer the names that have no data yet.
  for (const name of field.values ?? []) {
    if (name.startsWith(ctx.partial) && !seen.some((v) => v.value === name)) opts.push({ insert: name, label: name });
  }
  return opts.filter((o) => o.insert !== ctx.partial && o.insert !== `"${ctx.partial}"`);
}

export function QueryInput({ value, onInput, onSubmit, range }) {
  const [caret, setCaret] = useState(0);
  const [open, setOpen] = useState(false);
  const options = useCompletions(value, caret, open, range).slice(0, 10);
  const apply = (opt) => {
    const head = value.slice(0, caret);
    const ctx = completionContext(value, caret);
    const cut = ctx?.kind === 'value' ? head.length - ctx.partial.length - (ctx.quoted ? 1 : 0)
                                      : head.length - (ctx?.partial.length ?? 0);
    let tail = value.slice(caret);
    if (ctx?.quoted && tail.startsWith('"')) tail = tail.slice(1);
    const next = value.slice(0, cut) + opt.insert + tail;
    onInput(next);
    setCaret(cut + opt.insert.length);
    setOpen(false);
  };
  return html`<div class="query-input">
    <input id="q" type="text" spellcheck="false" autocomplete="off" value=${value}
      placeholder='flow = "checkout" and status = failed   |   … | count() by (bucket(1m))'
      onInput=${(e) => { onInput(e.target.value); setCaret(e.target.selectionStart); setOpen(true); }}
      onKeyDown=${(e) => {
        if (e.key === 'Enter') { setOpen(false); onSubmit(); }
        if (e.key === 'Tab' && options.length) { e.preventDefault(); apply(options[0]); }
        if (e.key === 'Escape') setOpen(false);
      }}
      onBlur=${() => setTimeout(() => setOpen(false), 150)} />
    ${options.length > 0 && html`<ul class="completions" role="listbox">
      ${options.map((o) => html`<li role="option" onMouseDown=${(e) => { e.preventDefault(); apply(o); }}>
        <span class="completion-text">${o.label}</span>
        ${o.count !== undefined && html`<span class="completion-count">${o.count.toLocaleString()}</span>`}
        ${o.note && html`<span class="completion-count">${o.note}</span>`}</li>`)}
    </ul>`}
  </div>`;
}
