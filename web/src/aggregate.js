// An aggregation's result (`… | count() by (flow)`): a table and a bar chart
// of the first value column per group.
import { html } from './html.js';

export function AggregateView({ result }) {
  const { columns, rows } = result;
  const valueCols = columns.filter((c) => rows.some((r) => typeof r[c] === 'number' || r[c] === null));
  const groupCols = columns.filter((c) => !valueCols.includes(c));
  const first = valueCols[0];
  const max = Math.max(1e-9, ...rows.map((r) => Math.abs(r[first] ?? 0)));
  const label = (r) => groupCols.map((c) => r[c]).join(' · ') || 'all';
  return html`<div class="aggregate">
    <table class="table">
      <thead><tr>${columns.map((c) => html`<th>${c}</th>`)}</tr></thead>
      <tbody>${rows.map((r) => html`<tr>${columns.map((c) => html`<td class=${valueCols.includes(c) ? 'num' : ''}>
        ${r[c] === null ? '—' : typeof r[c] === 'number' ? Number(r[c].toFixed(3)).toLocaleString() : r[c]}</td>`)}</tr>`)}
      </tbody>
    </table>
    ${first && html`<div class="bars" aria-label="bar chart of ${first}">
      ${rows.map((r) => html`<div class="bar-row">
        <span class="bar-label" title=${label(r)}>${label(r)}</span>
        <span class="bar" style=${`width:${(100 * Math.abs(r[first] ?? 0)) / max}%`}></span>
        <span class="bar-value">${r[first] ?? '—'}</span></div>`)}
    </div>`}
  </div>`;
}
