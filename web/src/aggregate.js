// An aggregation's result (`… | count() by (flow)`): a table and a bar chart
// of the first value column per group; with a time bucket
// (`by (bucket(5m), …)`) a line chart over time instead of the bars.
import { useState } from 'preact/hooks';
import { html } from './html.js';
import { LineChart } from './line_chart.js';

export function AggregateView({ result }) {
  const { columns, rows } = result;
  const valueCols = columns.filter((c) => rows.some((r) => typeof r[c] === 'number' || r[c] === null));
  const groupCols = columns.filter((c) => !valueCols.includes(c));
  const bucketCol = groupCols.find((c) => c.startsWith('bucket('));
  const [chosen, setChosen] = useState(null);
  const first = valueCols.includes(chosen) ? chosen : valueCols[0];
  const max = Math.max(1e-9, ...rows.map((r) => Math.abs(r[first] ?? 0)));
  const label = (r) => groupCols.map((c) => r[c]).join(' · ') || 'all';
  return html`<div class="aggregate">
    <table class="table">
      <thead><tr>${columns.map((c) => html`<th>${c}</th>`)}</tr></thead>
      <tbody>${rows.map((r) => html`<tr>${columns.map((c) => html`<td class=${valueCols.includes(c) ? 'num' : ''}>
        ${r[c] === null ? '—' : typeof r[c] === 'number' ? Number(r[c].toFixed(3)).toLocaleString() : r[c]}</td>`)}</tr>`)}
      </tbody>
    </table>
    ${first && bucketCol && html`<div class="chart-head">
      ${valueCols.length > 1 && html`<select aria-label="value to plot" value=${first} onChange=${(e) => setChosen(e.target.value)}>
        ${valueCols.map((c) => html`<option value=${c}>${c}</option>`)}</select>`}
      <${LineChart} rows=${rows} bucketCol=${bucketCol} groupCols=${groupCols.filter((c) => c !== bucketCol)} value=${first} />
    </div>`}
    ${first && !bucketCol && html`<div class="bars" aria-label="bar chart of ${first}">
      ${rows.map((r) => html`<div class="bar-row">
        <span class="bar-label" title=${label(r)}>${label(r)}</span>
        <span class="bar" style=${`width:${(100 * Math.abs(r[first] ?? 0)) / max}%`}></span>
        <span class="bar-value">${r[first] ?? '—'}</span></div>`)}
    </div>`}
  </div>`;
}
