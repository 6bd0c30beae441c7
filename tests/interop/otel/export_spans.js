// Exports real spans to an OTLP/HTTP endpoint through the OpenTelemetry JS
// SDK: NodeTracerProvider + BatchSpanProcessor + the OTLPTraceExporter of
// @opentelemetry/exporter-trace-otlp-http (OTLP/JSON) or
// @opentelemetry/exporter-trace-otlp-proto (protobuf), optionally gzip.
// Driven by tests/scripts/otel_interop_test.py; the versions are pinned in
// package-lock.json (docs/dependencies.md, "OpenTelemetry interop test").
//
// usage: node export_spans.js URL json|proto none|gzip SERVICE [REPEAT]
//
// Creates TRACES (2) traces of one shape each:
//   checkout (server, root)  string, int, double, bool, string-array,
//   │                        int-array attributes; status OK on trace 0,
//   │                        ERROR on trace 1
//   ├── db.query (client)    db.system, db.rows = 42, big = 2^53, an event
//   │                        "retry" {attempt: 1}, status ERROR
//   │                        "deadline exceeded"
//   └── render (internal)
//       └── template.compile (internal)
// then, with REPEAT > 1, exports the same finished spans (same ids) again
// REPEAT - 1 times through a fresh exporter: a retried export, which the
// receiver must store once. Prints one JSON document on stdout:
//   {"service": ..., "trace_ids": [32 hex], "spans": [{trace_id, span_id,
//    parent_span_id (null on roots), name, kind, status_code,
//    status_message, attributes, events: [{name, attributes}]}],
//    "exports": [{"code": 0|1, "error": ...}], "shutdown_error": null | ...,
//    "elapsed_ms": ...}
// ("elapsed_ms": from just before the first export to the end), and the line
// "export_spans: exporting" on stderr just before the first export attempt.
// and exits 1 when any export did not succeed (ExportResultCode.SUCCESS = 0).
'use strict';

const api = require('@opentelemetry/api');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { OTLPTraceExporter: JsonExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { OTLPTraceExporter: ProtoExporter } = require('@opentelemetry/exporter-trace-otlp-proto');

const TRACES = 2;

function usage() {
  process.stderr.write('usage: node export_spans.js URL json|proto none|gzip SERVICE [REPEAT]\n');
  process.exit(2);
}

const [url, encoding, compression, service, repeatText] = process.argv.slice(2);
if (!url || !['json', 'proto'].includes(encoding) || !['none', 'gzip'].includes(compression) || !service) usage();
const repeat = repeatText === undefined ? 1 : Number(repeatText);
if (!Number.isInteger(repeat) || repeat < 1) usage();

function newExporter() {
  const Exporter = encoding === 'json' ? JsonExporter : ProtoExporter;
  // 20 s covers the exporter's own retries (up to 5 attempts honouring
  // Retry-After) in the overload check.
  return new Exporter({ url, compression, timeoutMillis: 20000 });
}

// Keeps every finished span so that the same spans can be exported again.
class Recorder {
  constructor() { this.spans = []; }
  onStart() {}
  onEnd(span) { this.spans.push(span); }
  forceFlush() { return Promise.resolve(); }
  shutdown() { return Promise.resolve(); }
}

const exports_ = [];
function record(result) {
  exports_.push({ code: result.code, error: result.error ? String(result.error) : null });
}

// The first export goes through the SDK's own pipeline; its result is seen
// by wrapping export().
function observed(exporter) {
  const inner = exporter.export.bind(exporter);
  exporter.export = (spans, done) => inner(spans, (result) => { record(result); done(result); });
  return exporter;
}

function makeTrace(tracer, i) {
  const root = tracer.startSpan('checkout', {
    kind: api.SpanKind.SERVER,
    attributes: {
      'http.method': 'POST',
      'http.route': '/checkout/{cart}',
      'http.status_code': i === 0 ? 200 : 500,
      'ratio': 0.25,
      'cache.hit': true,
      'tags': ['alpha', 'beta'],
      'sizes': [1, 2, 3],
      'trace.index': i,
    },
  });
  const rootCtx = api.trace.setSpan(api.context.active(), root);
  const db = tracer.startSpan('db.query', {
    kind: api.SpanKind.CLIENT,
    attributes: { 'db.system': 'postgresql', 'db.rows': 42, 'big': 2 ** 53 },
  }, rootCtx);
  db.addEvent('retry', { attempt: 1 });
  db.setStatus({ code: api.SpanStatusCode.ERROR, message: 'deadline exceeded' });
  db.end();
  const render = tracer.startSpan('render', { kind: api.SpanKind.INTERNAL }, rootCtx);
  const compile = tracer.startSpan('template.compile', { attributes: { 'template.cached': false } },
                                   api.trace.setSpan(rootCtx, render));
  compile.end();
  render.end();
  root.setStatus(i === 0 ? { code: api.SpanStatusCode.OK }
                         : { code: api.SpanStatusCode.ERROR, message: 'payment declined' });
  root.end();
  return root.spanContext().traceId;
}

function describe(span) {
  const parent = span.parentSpanContext ? span.parentSpanContext.spanId : null;
  return {
    trace_id: span.spanContext().traceId,
    span_id: span.spanContext().spanId,
    parent_span_id: parent || null,
    name: span.name,
    kind: span.kind,
    status_code: span.status.code,
    status_message: span.status.message || '',
    attributes: span.attributes,
    events: span.events.map((e) => ({ name: e.name, attributes: e.attributes || {} })),
  };
}

function exportAgain(spans) {
  const exporter = newExporter();
  return new Promise((resolve) => exporter.export(spans, (result) => { record(result); resolve(); }))
    .then(() => exporter.shutdown());
}

async function main() {
  const recorder = new Recorder();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'interop-test' }),
    spanProcessors: [recorder, new BatchSpanProcessor(observed(newExporter()), { scheduledDelayMillis: 60000 })],
  });
  const tracer = provider.getTracer('tracedb-interop', '1.0.0');
  const traceIds = [];
  for (let i = 0; i < TRACES; ++i) traceIds.push(makeTrace(tracer, i));
  // The driver's cue: the first export attempt follows at once.
  process.stderr.write('export_spans: exporting\n');
  const started = Date.now();
  // Flushes: every span is exported once. A failed export rejects the
  // shutdown; the report still follows, with the failure in "exports".
  let shutdownError = null;
  await provider.shutdown().catch((err) => { shutdownError = String(err); });
  for (let r = 1; r < repeat && !shutdownError; ++r) await exportAgain(recorder.spans);
  const out = {
    service,
    encoding,
    compression,
    trace_ids: traceIds,
    spans: recorder.spans.map(describe),
    exports: exports_,
    shutdown_error: shutdownError,
    elapsed_ms: Date.now() - started,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(!shutdownError && exports_.length > 0 && exports_.every((e) => e.code === 0) ? 0 : 1);
}

main().catch((err) => {
  process.stderr.write(`export_spans.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
