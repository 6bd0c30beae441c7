// Collapsible JSON (nested <details>) with a copy button: every field of an
// event, its message snapshot, state diff and attributes.
import { html } from './html.js';

function Node({ name, value, depth }) {
  const label = name !== undefined && html`<span class="json-key">${name}: </span>`;
  if (value === null || typeof value !== 'object') {
    const cls = value === null ? 'json-null' : `json-${typeof value}`;
    return html`<div class="json-leaf">${label}<span class=${cls}>${JSON.stringify(value)}</span></div>`;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  const summary = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  return html`<details open=${depth < 2}>
    <summary>${label}<span class="muted">${summary}</span></summary>
    <div class="json-children">${entries.map(([k, v]) => html`<${Node} name=${k} value=${v} depth=${depth + 1} />`)}</div>
  </details>`;
}

export function JsonView({ value }) {
  const copy = () => navigator.clipboard?.writeText(JSON.stringify(value, null, 2)).catch(() => {});
  return html`<div class="json">
    <button class="copy" onClick=${copy} title="copy as JSON">copy</button>
    <${Node} value=${value} depth=${0} />
  </div>`;
}
