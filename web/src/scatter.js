// Duration over start time, one point per trace (uPlot, canvas). A click on
// a point opens its trace.
import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';
import { isoToNs } from './format.js';

export function Scatter({ traces, onOpen }) {
  const ref = useRef(null);
  useEffect(() => {
    const pts = traces.filter((t) => t.duration_ns !== null)
      .map((t) => ({ x: isoToNs(t.start) / 1e9, y: t.duration_ns / 1e6, t }))
      .sort((a, b) => a.x - b.x);
    if (!ref.current || pts.length === 0) return undefined;
    const opts = {
      width: ref.current.clientWidth || 800, height: 180,
      mode: 1,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 10 } },
      scales: { x: { time: true }, y: { auto: true } },
      axes: [{}, { label: 'duration (ms)', size: 60 }],
      series: [{}, { stroke: '#3b82f6', fill: '#3b82f6', width: 0,
                     points: { show: true, size: 7, fill: '#3b82f6' }, paths: () => null }],
    };
    const plot = new uPlot(opts, [pts.map((p) => p.x), pts.map((p) => p.y)], ref.current);
    const click = () => {
      const i = plot.cursor.idx;
      if (i !== null && i !== undefined && pts[i]) onOpen(pts[i].t);
    };
    plot.over.addEventListener('click', click);
    return () => plot.destroy();
  }, [traces]);
  return html`<div class="scatter" ref=${ref} title="duration over time: click a point to open its trace"></div>`;
}
