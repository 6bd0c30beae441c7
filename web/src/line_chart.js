// A bucketed aggregation (`… | count() by (bucket(1m), service)`) over time:
// one line per combination of the other group keys, of one value column
// (uPlot, canvas). Buckets with no rows are gaps, not zeros: the server only
// returns buckets that hold rows.
import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';

const kColours = ['#2563eb', '#ea580c', '#059669', '#9333ea', '#dc2626', '#0891b2', '#ca8a04', '#db2777'];
export const kMaxSeries = 12;

// {xs (seconds), series: [{label, ys}]} of `rows` for the value column `value`.
export function lineSeries(allRows, bucketCol, groupCols, value) {
  // Rows whose time is absent (key "(none)", e.g. bucket(end, …) of open
  // traces) have no place on the time axis; the table still shows them.
  const rows = allRows.filter((r) => !Number.isNaN(Date.parse(r[bucketCol])));
  const xs = [...new Set(rows.map((r) => Date.parse(r[bucketCol]) / 1000))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const byLabel = new Map();
  for (const r of rows) {
    const label = groupCols.map((c) => r[c]).join(' · ') || value;
    if (!byLabel.has(label)) {
      if (byLabel.size >= kMaxSeries) continue;
      byLabel.set(label, new Array(xs.length).fill(null));
    }
    byLabel.get(label)[index.get(Date.parse(r[bucketCol]) / 1000)] = r[value];
  }
  return { xs, series: [...byLabel].map(([label, ys]) => ({ label, ys })) };
}

// The width in seconds of a bucket column ("bucket(5m)", "bucket(end, 30s)").
export function bucketSeconds(column) {
  const m = /(\d+)(ns|us|ms|s|m|h|d)\)$/.exec(column);
  if (!m) return 60;
  return Number(m[1]) * { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400 }[m[2]];
}

export function LineChart({ rows, bucketCol, groupCols, value }) {
  const ref = useRef(null);
  useEffect(() => {
    if (!ref.current) return undefined;
    const { xs, series } = lineSeries(rows, bucketCol, groupCols, value);
    if (xs.length === 0) return undefined;
    const pad = bucketSeconds(bucketCol) / 2;
    const opts = {
      width: ref.current.clientWidth || 800, height: 240,
      // Half a bucket of margin on each side: a single bucket still gets a
      // readable axis (uPlot would otherwise span years around one point).
      scales: { x: { time: true, range: () => [xs[0] - pad, xs[xs.length - 1] + pad] } },
      axes: [{}, { label: value, size: 70 }],
      legend: { show: true },
      series: [{ label: bucketCol }, ...series.map((s, i) => ({
        label: s.label, stroke: kColours[i % kColours.length], width: 2, points: { show: xs.length < 60 },
      }))],
    };
    const plot = new uPlot(opts, [xs, ...series.map((s) => s.ys)], ref.current);
    return () => plot.destroy();
  }, [rows, value]);
  return html`<div class="line-chart" ref=${ref} aria-label=${`line chart of ${value} by ${bucketCol}`}></div>`;
}
