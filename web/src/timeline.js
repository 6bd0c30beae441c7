// The trace timeline: one row per actor / span / op, events as marks, spans
// as bars, DataFlow events as lines to their target row. Rows are
// virtualised: only the rows in view are laid out (labels as DOM, marks on
// one canvas), so a 10,000-event trace scrolls as fast as a 10-event one.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { html } from './html.js';
import { formatDuration } from './format.js';

const kRow = 22;
const kLabel = 280;
const kOverscan = 5;

function palette(type) {
  let h = 0;
  for (const c of type) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${h % 360} 65% 45%)`;
}

export function Timeline({ model, selected, matches, critical, onSelect, onRendered }) {
  const scroller = useRef(null);
  const canvas = useRef(null);
  const [view, setView] = useState({ top: 0, height: 600, width: 900 });
  // The time window shown, in ns since the trace start: drag across the
  // plot to zoom in, "reset zoom" to see the whole trace.
  const [win, setWin] = useState({ from: 0, to: model.durationNs });
  const drag = useRef(null);
  const rows = model.rows;
  useEffect(() => setWin({ from: 0, to: model.durationNs }), [model]);

  useLayoutEffect(() => {
    const el = scroller.current;
    const measure = () => setView({ top: el.scrollTop, height: el.clientHeight, width: el.clientWidth });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const first = Math.max(0, Math.floor(view.top / kRow) - kOverscan);
  const last = Math.min(rows.length, Math.ceil((view.top + view.height) / kRow) + kOverscan);
  const plotW = Math.max(100, view.width - kLabel - 16);
  const span = Math.max(1, win.to - win.from);
  const x = (t) => kLabel + ((t - win.from) / span) * plotW;
  const tAt = (px) => win.from + ((px - kLabel) / plotW) * span;

  useEffect(() => {
    const c = canvas.current;
    const dpr = window.devicePixelRatio || 1;
    c.width = view.width * dpr;
    c.height = view.height * dpr;
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, view.width, view.height);
    g.save();
    g.beginPath();
    g.rect(kLabel, 0, plotW + 16, view.height);
    g.clip();
    const y0 = -view.top;
    for (let r = first; r < last; r++) {
      const row = rows[r];
      const y = y0 + r * kRow;
      if (critical.has(row.key)) {
        g.fillStyle = 'rgba(245, 158, 11, 0.18)';
        g.fillRect(kLabel, y, plotW, kRow);
      }
      g.fillStyle = 'rgba(100, 116, 139, 0.25)';
      g.fillRect(x(row.start), y + 8, Math.max(1, x(row.end) - x(row.start)), 6);
      for (const ev of row.events) {
        if (ev.end !== undefined) {
          g.fillStyle = ev.error ? '#dc2626' : critical.has(row.key) ? '#d97706' : '#3b82f6';
          g.fillRect(x(ev.t), y + 4, Math.max(2, x(ev.end) - x(ev.t)), kRow - 8);
          continue;
        }
        const hit = matches && matches.has(ev.i);
        g.fillStyle = hit ? '#f59e0b' : palette(ev.type);
        g.fillRect(x(ev.t) - 1, y + (hit ? 2 : 5), hit ? 4 : 3, hit ? kRow - 4 : kRow - 10);
        if (ev.to !== undefined && model.rowIndex.has(ev.to)) {
          const ty = y0 + model.rowIndex.get(ev.to) * kRow + kRow / 2;
          g.strokeStyle = 'rgba(16, 185, 129, 0.5)';
          g.beginPath();
          g.moveTo(x(ev.t), y + kRow / 2);
          g.lineTo(x(ev.t) + 6, ty);
          g.stroke();
        }
      }
      if (selected && selected.row === row.key) {
        g.strokeStyle = '#111827';
        g.lineWidth = 2;
        g.strokeRect(x(selected.t) - 4, y + 1, 8, kRow - 2);
        g.lineWidth = 1;
      }
    }
    g.restore();
    onRendered?.();
  }, [model, view, selected, matches, critical, win]);

  const down = (e) => { drag.current = e.clientX; };
  const up = (e) => {
    const rect = scroller.current.getBoundingClientRect();
    const start = drag.current;
    drag.current = null;
    if (start !== null && Math.abs(e.clientX - start) > 5) {
      const a = tAt(Math.max(kLabel, Math.min(start, e.clientX) - rect.left));
      const b = tAt(Math.max(start, e.clientX) - rect.left);
      if (b > a) setWin({ from: a, to: b });
      return;
    }
    click(e, rect);
  };
  const click = (e, rect) => {
    const py = e.clientY - rect.top + view.top;
    const px = e.clientX - rect.left;
    const row = rows[Math.floor(py / kRow)];
    if (!row || px < kLabel) return;
    let best = null;
    let dist = 8;
    for (const ev of row.events) {
      const d = ev.end !== undefined && px >= x(ev.t) && px <= x(ev.end) ? 0 : Math.abs(x(ev.t) - px);
      if (d <= dist) { best = ev; dist = d; }
    }
    if (best) onSelect(best);
  };

  return html`<div class="timeline">
    <div class="timeline-axis" style=${`padding-left:${kLabel}px`}>
      ${(win.from > 0 || win.to < model.durationNs) &&
        html`<button class="zoom-reset" onClick=${() => setWin({ from: 0, to: model.durationNs })}>reset zoom</button>`}
      ${[0, 0.25, 0.5, 0.75, 1].map((f) => html`<span style=${`left:${kLabel + f * plotW}px`}>${formatDuration(Math.round(win.from + f * span))}</span>`)}
    </div>
    <div class="timeline-scroll" ref=${scroller} onScroll=${(e) => setView((v) => ({ ...v, top: e.target.scrollTop }))}
      onMouseDown=${down} onMouseUp=${up} title="click a mark for its event; drag across the plot to zoom">
      <div style=${`height:${rows.length * kRow}px;position:relative`}>
        <canvas ref=${canvas} class="timeline-canvas" style=${`top:${view.top}px;width:${view.width}px;height:${view.height}px`}></canvas>
        ${rows.slice(first, last).map((row, k) => html`<div class="timeline-label" key=${row.key}
            style=${`top:${(first + k) * kRow}px;width:${kLabel}px;height:${kRow}px`} title=${`${row.label} ${row.sub}`}>
          <span class="actor">${row.label}</span> <span class="muted">${row.sub || `${row.events.length}`}</span>
        </div>`)}
      </div>
    </div>
  </div>`;
}
