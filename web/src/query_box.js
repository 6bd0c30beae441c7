// The filter-language box: the query, a time range, and the server's error
// drawn under the box with a caret at the column it reports
// ("error at LINE:COL: message", docs/query-language.md "Errors").
import { useState } from 'preact/hooks';
import { html } from './html.js';

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

// Field names offered as completions (docs/query-language.md "Fields").
const kFields = ['flow', 'status', 'service', 'source', 'start', 'end', 'duration', 'trace_id', 'request_id',
  'execution_id', 'version', 'environment', 'hostname', 'user', 'session', 'tags.', 'event{', 'actor', 'event_type',
  'port', 'timestamp', 'execution_time_ns', 'error', 'span.name', 'span.kind'];
const kStatuses = ['completed', 'failed', 'running', 'pending', 'cancelled'];

// Completions for the word before the caret: fields, or status values after
// "status =", or values seen in the current results (`values`).
export function completionsFor(text, caret, values) {
  const before = text.slice(0, caret);
  const word = /[\w.{]*$/.exec(before)[0];
  if (/status\s*(=|!=)\s*\w*$/.test(before)) return kStatuses.filter((s) => s.startsWith(word) && s !== word);
  const field = /(\w+)\s*(=|!=)\s*"?([^"]*)$/.exec(before);
  if (field && values[field[1]]) {
    return values[field[1]].filter((v) => v.startsWith(field[3]) && v !== field[3]).map((v) => `"${v}"`);
  }
  if (!word) return [];
  return kFields.filter((f) => f.startsWith(word) && f !== word);
}

export function QueryInput({ value, onInput, onSubmit, values }) {
  const [caret, setCaret] = useState(0);
  const [open, setOpen] = useState(false);
  const options = open ? completionsFor(value, caret, values).slice(0, 8) : [];
  const apply = (opt) => {
    const before = value.slice(0, caret).replace(/"?[\w.{]*"?$/, '');
    const next = before + opt + value.slice(caret);
    onInput(next);
    setOpen(false);
  };
  return html`<div class="query-input">
    <input id="q" type="text" spellcheck="false" autocomplete="off" value=${value}
      placeholder='flow = "checkout" and status = failed   |   … | count() by (flow)'
      onInput=${(e) => { onInput(e.target.value); setCaret(e.target.selectionStart); setOpen(true); }}
      onKeyDown=${(e) => {
        if (e.key === 'Enter') { setOpen(false); onSubmit(); }
        if (e.key === 'Tab' && options.length) { e.preventDefault(); apply(options[0]); }
        if (e.key === 'Escape') setOpen(false);
      }}
      onBlur=${() => setTimeout(() => setOpen(false), 150)} />
    ${options.length > 0 && html`<ul class="completions">
      ${options.map((o) => html`<li onMouseDown=${(e) => { e.preventDefault(); apply(o); }}>${o}</li>`)}
    </ul>`}
  </div>`;
}
