// The live tail (/live): a WebSocket Subscribe (docs/server.md,
// "Subscriptions") with flow, actor, event-type and status filters; events
// show as they arrive with their rate. The page keeps at most kBuffer
// events; while paused, arrivals wait in a queue of the same bound and the
// overflow is counted as dropped.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './html.js';
import { wsUrl } from './api.js';
import { formatTime } from './format.js';
import { navigate } from './router.js';

const kBuffer = 1000;
const kRateWindowMs = 5000;

const list = (s) => {
  const items = s.split(',').map((x) => x.trim()).filter(Boolean);
  return items.length ? items : null;
};

export function subscribeMessage(f) {
  return JSON.stringify({ Subscribe: { filters: {
    flow_ids: list(f.flows), actor_ids: list(f.actors), event_types: list(f.types), status_filter: list(f.statuses),
  } } });
}

function typeName(t) { return typeof t === 'string' ? t : Object.keys(t ?? {})[0] ?? '?'; }

export function LivePage({ params }) {
  const [filters, setFilters] = useState({ flows: params.get('flow') || '', actors: params.get('actor') || '',
                                           types: params.get('type') || '', statuses: params.get('status') || '' });
  const [applied, setApplied] = useState(filters);
  const [events, setEvents] = useState([]);
  const [status, setStatus] = useState('connecting');
  const [paused, setPaused] = useState(false);
  const [stats, setStats] = useState({ rate: 0, total: 0, dropped: 0, queued: 0 });
  const live = useRef({ paused: false, queue: [], arrivals: [], total: 0, dropped: 0 });

  useEffect(() => {
    const ws = new WebSocket(wsUrl());
    const st = live.current;
    ws.onopen = () => { ws.send(subscribeMessage(applied)); setStatus('subscribed'); };
    ws.onclose = (e) => setStatus(`closed (${e.code}${e.reason ? `: ${e.reason}` : ''})`);
    ws.onerror = () => setStatus('connection failed');
    ws.onmessage = (m) => {
      if (typeof m.data !== 'string') return;  // compressed replies; pushes are Text
      const msg = JSON.parse(m.data);
      if (msg.Error) { setStatus(`error: ${msg.Error.message}`); return; }
      const n = msg.EventNotification;
      if (!n) return;
      st.total++;
      st.arrivals.push(Date.now());
      const item = { id: `${n.trace_id}/${n.event.event_id}`, traceId: n.trace_id, event: n.event };
      if (st.paused) {
        if (st.queue.length >= kBuffer) { st.queue.shift(); st.dropped++; }
        st.queue.push(item);
      } else {
        setEvents((old) => [item, ...old].slice(0, kBuffer));
      }
    };
    const tick = setInterval(() => {
      const now = Date.now();
      while (st.arrivals.length && st.arrivals[0] < now - kRateWindowMs) st.arrivals.shift();
      setStats({ rate: st.arrivals.length / (kRateWindowMs / 1000), total: st.total, dropped: st.dropped, queued: st.queue.length });
    }, 500);
    return () => { clearInterval(tick); ws.close(); };
  }, [applied]);

  const togglePause = () => {
    const st = live.current;
    st.paused = !st.paused;
    if (!st.paused) {
      const q = st.queue.reverse();
      st.queue = [];
      setEvents((old) => [...q, ...old].slice(0, kBuffer));
    }
    setPaused(st.paused);
  };
  const field = (name, label, hint) => html`<label>${label}
    <input value=${filters[name]} placeholder=${hint} onInput=${(e) => setFilters({ ...filters, [name]: e.target.value })} /></label>`;

  return html`<section class="page live">
    <form class="live-filters" onSubmit=${(e) => { e.preventDefault(); setEvents([]); setApplied({ ...filters }); }}>
      ${field('flows', 'flows', 'any')} ${field('actors', 'actors', 'any')}
      ${field('types', 'event types', 'e.g. ActorCreated')} ${field('statuses', 'trace status', 'e.g. Running')}
      <button type="submit">Subscribe</button>
    </form>
    <div class="live-bar">
      <span data-testid="live-status" class=${`live-status ${status === 'subscribed' ? 'ok' : ''}`}>${status}</span>
      <span data-testid="rate">${stats.rate.toFixed(1)} events/s</span>
      <span>${stats.total} received</span>
      <span>${events.length} shown (at most ${kBuffer})</span>
      ${paused && html`<span>${stats.queued} waiting, ${stats.dropped} dropped</span>`}
      <button onClick=${togglePause}>${paused ? 'resume' : 'pause'}</button>
    </div>
    <table class="table live-events">
      <thead><tr><th>time</th><th>trace</th><th>actor</th><th>event</th><th>port</th></tr></thead>
      <tbody>${events.map((it) => html`<tr key=${it.id} onClick=${() => navigate(`/traces/${it.traceId}`)}>
        <td class="mono">${formatTime(it.event.timestamp)}</td>
        <td class="mono">${it.traceId}</td>
        <td class="actor">${it.event.actor_id}</td>
        <td>${typeName(it.event.event_type)}</td>
        <td>${it.event.data?.port ?? ''}</td></tr>`)}
      </tbody>
    </table>
    ${events.length === 0 && html`<div class="muted">waiting for events (RecordEvent over WebSocket; bulk ingest is not pushed)</div>`}
  </section>`;
}
