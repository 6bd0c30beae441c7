// The app: a header with the pages, the key prompt when the server wants an
// API key, and the router's current page.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { html } from './html.js';
import { apiKey, getJson, onUnauthorized, setApiKey } from './api.js';
import { interceptLinks, useLocation } from './router.js';
import { SearchPage } from './search.js';
import { TracePage } from './trace.js';
import { GraphPage } from './graph.js';
import { LivePage } from './live.js';

function KeyPrompt({ message, onKey }) {
  const [key, setKey] = useState('');
  return html`<section class="page key-prompt">
    <div class="error" role="alert" data-testid="unauthorized">${message}</div>
    <form onSubmit=${(e) => { e.preventDefault(); onKey(key); }}>
      <label>API key <input type="password" value=${key} onInput=${(e) => setKey(e.target.value)} autofocus /></label>
      <button type="submit">Use key</button>
    </form>
    <p class="muted">Kept in this tab only (sessionStorage).</p>
  </section>`;
}

function Page({ loc }) {
  const { path, params } = loc;
  if (path.startsWith('/traces/')) return html`<${TracePage} id=${decodeURIComponent(path.slice(8))} />`;
  if (path === '/graph') return html`<${GraphPage} params=${params} />`;
  if (path === '/live') return html`<${LivePage} params=${params} />`;
  return html`<${SearchPage} params=${params} />`;
}

function App() {
  const loc = useLocation();
  const [denied, setDenied] = useState(null);
  const [epoch, setEpoch] = useState(0);
  useEffect(() => onUnauthorized((e) => setDenied(e.message)), []);
  // The live page uses the WebSocket: check the key over HTTP first.
  useEffect(() => { if (loc.path === '/live') getJson('/v1/traces', { limit: 1 }).catch(() => {}); }, [loc.path, epoch]);
  const nav = (href, label) => html`<a href=${href} class=${(href === '/' ? loc.path === '/' : loc.path.startsWith(href)) ? 'active' : ''}>${label}</a>`;
  return html`<div class="app">
    <header class="top">
      <a href="/" class="brand">tracedb</a>
      <nav>${nav('/', 'Search')}${nav('/graph', 'Graph')}${nav('/live', 'Live')}</nav>
      ${apiKey() && html`<button class="link" onClick=${() => { setApiKey(''); location.reload(); }}>forget key</button>`}
    </header>
    ${denied ? html`<${KeyPrompt} message=${denied} onKey=${(k) => { setApiKey(k); setDenied(null); setEpoch(epoch + 1); }} />`
             : html`<${Page} key=${epoch} loc=${loc} />`}
  </div>`;
}

const root = document.getElementById('app');
interceptLinks(root);
render(html`<${App} />`, root);
