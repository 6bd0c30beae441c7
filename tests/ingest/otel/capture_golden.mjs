// Exports a fixed set of spans through the real OpenTelemetry JS exporter
// (OTLP/HTTP, JSON or protobuf) to the URL given on the command line.
// Ids and timestamps are fixed so that the captured bodies are deterministic
// and tests/ingest/otel/golden_test.cc can assert every value.
//
//   node capture_golden.mjs json|proto http://127.0.0.1:PORT/v1/traces
// Run by capture_golden.py, which serves the URL and writes the bodies.
import { createRequire } from 'node:module';
import path from 'node:path';

// Packages resolve from the scratch directory given by NODE_MODULES_DIR (the
// pinned install of capture_golden.py), not from the repository.
const require = createRequire(path.join(process.env.NODE_MODULES_DIR, 'index.js'));
const api = require('@opentelemetry/api');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { OTLPTraceExporter: JsonExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { OTLPTraceExporter: ProtoExporter } = require('@opentelemetry/exporter-trace-otlp-proto');

const [mode, url] = process.argv.slice(2);
const Exporter = mode === 'proto' ? ProtoExporter : JsonExporter;

// Handed out in order: trace ids to new roots, span ids in creation order.
const traceIds = ['5b8efff798038103d269b633813fc60c', 'd4cda95b652f4a1592b449d5929fda1b'];
const spanIds = ['eee19b7ec3c1b174', 'eee19b7ec3c1b173', '0123456789abcdef', 'a0b1c2d3e4f50617', 'fedcba9876543210'];
const idGenerator = {
  generateTraceId: () => traceIds.shift(),
  generateSpanId: () => spanIds.shift(),
};

const provider = new NodeTracerProvider({
  idGenerator,
  resource: resourceFromAttributes({
    'service.name': 'checkout',
    'service.version': '1.4.2',
    'host.id': new Uint8Array([0, 1, 2, 253, 254, 255]),
    deployment: { region: 'eu-west-1', replicas: 3 },
  }),
  spanProcessors: [new BatchSpanProcessor(new Exporter({ url }), { scheduledDelayMillis: 60000 })],
});
const tracer = provider.getTracer('golden-lib', '1.2.3', { schemaUrl: 'https://opentelemetry.io/schemas/1.24.0' });
const other = provider.getTracer('golden-consumer');

// [seconds, nanoseconds]: nanosecond precision survives the SDK unchanged.
const t = (ns) => [1796533263 + Math.floor(ns / 1e9), 631000123 + (ns % 1e9)];

const root = tracer.startSpan('GET /checkout', {
  kind: api.SpanKind.SERVER,
  startTime: t(0),
  attributes: { 'http.method': 'GET', 'http.route': '/checkout', 'http.status_code': 200 },
});
const rootCtx = api.trace.setSpan(api.context.active(), root);

const db = tracer.startSpan('db.query', {
  kind: api.SpanKind.CLIENT,
  startTime: t(1000),
  attributes: {
    'db.rows': 42, big: 2 ** 53, neg: -7, ratio: 0.25, cached: false,
    tags: ['a', 'b'], ids: [1, 2, 3],
  },
}, rootCtx);
db.addEvent('exception', { 'exception.message': 'timeout', attempt: 2 }, t(5000));
db.setStatus({ code: api.SpanStatusCode.ERROR, message: 'boom' });
db.end(t(9000));

const publish = tracer.startSpan('publish', {
  kind: api.SpanKind.PRODUCER,
  startTime: t(10000),
  links: [{
    context: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 },
    attributes: { 'link.kind': 'batch' },
  }],
}, rootCtx);
publish.end(t(12000));

root.setStatus({ code: api.SpanStatusCode.OK });
root.end(t(20000));

// A span whose parent arrived from another process, with a trace state.
const remoteParent = api.trace.setSpanContext(api.context.active(), {
  traceId: '4BF92F3577B34DA6A3CE929D0E0E4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: 1,
  isRemote: true,
  traceState: api.createTraceState('vendor=v1,other=x'),
});
const consume = other.startSpan('consume', { kind: api.SpanKind.CONSUMER, startTime: t(30000) }, remoteParent);
consume.end(t(31000));

const internal = other.startSpan('internal-work', { startTime: t(40000) });
internal.end(t(40001));

await provider.shutdown();
