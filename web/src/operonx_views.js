// The operonx views of a request (/v1/operonx/requests/{id}/{view}, built by
// query/operonx_views.cc; docs/operonx.md): the op tree as an indented list
// with duration bars, the turns (groups) with their ops, the cost per model
// and per op, the slowest ops, and the errors. "raw JSON" shows the reply.
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { getJson } from './api.js';
import { JsonView } from './json_view.js';

const kViews = ['tree', 'turns', 'cost', 'slow', 'errors'];
const ctxText = (ctx) => (Array.isArray(ctx) ? ctx.join('/') : ctx ?? '');
const ms = (v) => (v === null || v === undefined ? '—' : `${Number(v.toFixed(1)).toLocaleString()} ms`);
const usd = (v) => (v === null || v === undefined ? '—' : `$${Number(v.toFixed(6))}`);

function TreeNode({ node, maxMs, depth }) {
  const [open, setOpen] = useState(depth < 4);
  const kids = node.children ?? [];
  const width = maxMs > 0 && node.duration_ms ? Math.max(1, (100 * node.duration_ms) / maxMs) : 0;
  return html`<li class=${`ox-node ox-${node.kind} ox-status-${node.status}`}>
    <div class="ox-row">
      <button class="ox-toggle" disabled=${kids.length === 0} onClick=${() => setOpen(!open)}>${kids.length === 0 ? '·' : open ? '▾' : '▸'}</button>
      <span class="ox-name" title=${`${node.op_name || node.kind} · ctx ${ctxText(node.ctx) || '—'}`}>${node.kind === 'request' ? 'request' : node.kind === 'yield' ? `yield ${node.idx}` : node.name || node.op_name}
        ${node.kind !== 'op' && node.kind !== 'request' && html` <span class="muted">${node.kind}${node.stand_in ? ' (stand-in)' : ''}</span>`}</span>
      <span class="ox-bar"><span style=${`width:${width}%`}></span></span>
      <span class="ox-ms">${ms(node.duration_ms)}</span>
      <span class=${`status status-${node.status}`}>${node.status}</span>
    </div>
    ${open && kids.length > 0 && html`<ul>${kids.map((c) => html`<${TreeNode} node=${c} maxMs=${maxMs} depth=${depth + 1} />`)}</ul>`}
  </li>`;
}

function TreeView({ body }) {
  let maxMs = 0;
  const walk = (n) => { maxMs = Math.max(maxMs, n.duration_ms ?? 0); (n.children ?? []).forEach(walk); };
  walk(body.root);
  return html`<ul class="ox-tree"><${TreeNode} node=${body.root} maxMs=${maxMs} depth=${0} /></ul>`;
}

function TurnsView({ body }) {
  if (body.groups.length === 0) return html`<div class="muted">no turns (no group_start events); ${body.ungrouped_ops} ops outside any turn</div>`;
  return html`<div class="ox-turns">
    ${body.groups.map((g, i) => html`<div class="ox-turn">
      <h3>turn ${i + 1}: ${g.name} <span class=${`status status-${g.status}`}>${g.status}</span></h3>
      <div class="muted">${g.ops.length} ops${Object.keys(g.annotations).length ? ` · ${Object.keys(g.annotations).join(', ')}` : ''}</div>
      <ol class="ox-ops">${g.ops.map((o) => html`<li><span class="mono">${o.op_name}</span> <span class="muted">${ctxText(o.ctx)}</span></li>`)}</ol>
    </div>`)}
    ${body.ungrouped_ops > 0 && html`<div class="muted">${body.ungrouped_ops} ops outside any turn</div>`}
  </div>`;
}

function CostTable({ rows, keyName }) {
  return html`<table class="table ox-cost-table">
    <thead><tr><th>${keyName}</th><th class="num">calls</th><th class="num">cost</th><th class="num">tokens in</th><th class="num">out</th><th class="num">unpriced</th></tr></thead>
    <tbody>${rows.map((r) => html`<tr><td class="mono">${r[keyName]}</td><td class="num">${r.llm_calls}</td><td class="num">${usd(r.cost_usd)}</td>
      <td class="num">${r.prompt_tokens}</td><td class="num">${r.completion_tokens}</td><td class="num">${r.unpriced}</td></tr>`)}</tbody>
  </table>`;
}

function CostView({ body }) {
  return html`<div class="ox-cost">
    <div class="ox-total"><strong data-testid="ox-cost-total">${usd(body.cost_usd)}</strong>${
      ` for ${body.llm_calls} LLM calls, ${body.total_tokens.toLocaleString()} tokens${body.unpriced ? `, ${body.unpriced} unpriced` : ''}`}</div>
    <h3>by model</h3><${CostTable} rows=${body.by_model} keyName="model" />
    <h3>by op</h3><${CostTable} rows=${body.by_op} keyName="op_name" />
  </div>`;
}

function SlowView({ body }) {
  return html`<div class="ox-slow">
    <table class="table"><thead><tr><th>slowest ops</th><th>ctx</th><th class="num">duration</th><th>status</th></tr></thead>
      <tbody>${body.top.map((o) => html`<tr><td class="mono">${o.op_name}</td><td class="muted">${ctxText(o.ctx)}</td>
        <td class="num">${ms(o.duration_ms)}</td><td>${o.status}</td></tr>`)}</tbody></table>
    <table class="table"><thead><tr><th>op</th><th class="num">count</th><th class="num">p50</th><th class="num">p95</th><th class="num">max</th></tr></thead>
      <tbody>${body.per_op.map((o) => html`<tr><td class="mono">${o.op_name}</td><td class="num">${o.count}</td>
        <td class="num">${ms(o.p50_ms)}</td><td class="num">${ms(o.p95_ms)}</td><td class="num">${ms(o.max_ms)}</td></tr>`)}</tbody></table>
  </div>`;
}

function ErrorsView({ body }) {
  const none = body.failed_ops.length + body.truncated_groups.length + body.unfinished_ops.length === 0;
  return html`<div class="ox-errors">
    ${none && html`<div class="muted">no failed ops, truncated turns or unfinished ops</div>`}
    ${body.failed_ops.map((o) => html`<div class="ox-error"><span class=${`status status-${o.status}`}>${o.status}</span>
      <span class="mono">${o.op_name}</span> <span class="muted">${ctxText(o.ctx)}</span> ${o.error ?? ''}</div>`)}
    ${body.truncated_groups.map((g) => html`<div class="ox-error">truncated turn <span class="mono">${g.name}</span></div>`)}
    ${body.unfinished_ops.map((o) => html`<div class="ox-error">never ended: <span class="mono">${o.op_name}</span> <span class="muted">${ctxText(o.ctx)}</span></div>`)}
  </div>`;
}

const kRenderers = { tree: TreeView, turns: TurnsView, cost: CostView, slow: SlowView, errors: ErrorsView };

export function OperonxViews({ id }) {
  const [view, setView] = useState('tree');
  const [state, setState] = useState({});
  const [raw, setRaw] = useState(false);
  useEffect(() => {
    setState({ view, loading: true });
    getJson(`/v1/operonx/requests/${encodeURIComponent(id)}/${view}`)
      .then((body) => setState({ view, body }))
      .catch((e) => setState({ view, error: e.message }));
  }, [id, view]);
  const Render = kRenderers[view];
  return html`<div class="operonx-views">
    <h2>operonx views</h2>
    <div class="ox-tabs" role="tablist">
      ${kViews.map((v) => html`<button role="tab" class=${view === v ? 'active' : ''} onClick=${() => setView(v)}>${v}</button>`)}
      <label class="muted"><input type="checkbox" checked=${raw} onChange=${(e) => setRaw(e.target.checked)} /> raw JSON</label>
    </div>
    ${state.error && html`<div class="error" role="alert">${state.error}</div>`}
    ${state.body && state.view === view && (raw ? html`<${JsonView} value=${state.body} />` : html`<div class=${`ox-view ox-view-${view}`}><${Render} body=${state.body} /></div>`)}
  </div>`;
}
