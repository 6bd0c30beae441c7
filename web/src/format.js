// Display helpers shared by the views.

export function formatDuration(ns) {
  if (ns === null || ns === undefined) return '—';
  const a = Math.abs(ns);
  if (a < 1e3) return `${ns} ns`;
  if (a < 1e6) return `${(ns / 1e3).toFixed(1)} µs`;
  if (a < 1e9) return `${(ns / 1e6).toFixed(1)} ms`;
  if (a < 60e9) return `${(ns / 1e9).toFixed(2)} s`;
  return `${(ns / 60e9).toFixed(1)} min`;
}

export function formatTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').replace('Z', '');
}

// Nanoseconds since the epoch of an RFC 3339 string (sub-ms digits kept).
export function isoToNs(iso) {
  if (!iso) return NaN;
  const ms = Date.parse(iso);
  const frac = /\.(\d+)/.exec(iso);
  const sub = frac ? Number((frac[1] + '000000000').slice(3, 9)) : 0;
  return Math.floor(ms) * 1e6 + sub;
}
