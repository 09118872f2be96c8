#!/usr/bin/env node
// Times an ONNX model in ONNX Runtime (onnxruntime-node) on random inputs of the shapes in
// inputs.json (as written by tests/models/export_models.py) with the leading dim set to --batch.
// Sequential execution, --threads intra-op threads, all graph optimizations.
//
// usage: ort_bench.js MODEL.onnx INPUTS.json [--batch N] [--seconds S] [--warmup S] [--threads N] [--min-iterations N]
// Prints one JSON line: {"median_ms":..,"mean_ms":..,"iterations":..,"threads":..}
'use strict';
const fs = require('fs');
const path = require('path');

function loadOrt() {
  const candidates = [process.env.SPARSIFY_ORT_NODE, path.join(__dirname, '..', '..', '.deps', 'node_modules', 'onnxruntime-node'),
                      'onnxruntime-node'].filter(Boolean);
  for (const c of candidates) {
    try { return require(c); } catch (e) { /* next */ }
  }
  console.error('ort_bench: onnxruntime-node not found (run scripts/setup.sh or set SPARSIFY_ORT_NODE)');
  process.exit(77);
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : def; };
  if (args.length < 2) { console.error('usage: ort_bench.js MODEL.onnx INPUTS.json [--batch N] [--seconds S] [--warmup S] [--threads N]'); process.exit(2); }
  const [model, meta] = args;
  const batch = opt('--batch', 1), seconds = opt('--seconds', 5), warmup = opt('--warmup', 1);
  const threads = opt('--threads', 2), minIters = opt('--min-iterations', 3);
  const ort = loadOrt();
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1,
                                                             graphOptimizationLevel: 'all', executionMode: 'sequential',
                                                             logSeverityLevel: 3 });
  const feeds = {};
  let seed = 12345;
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  for (const m of JSON.parse(fs.readFileSync(meta, 'utf8'))) {
    const shape = [batch, ...m.shape.slice(1)];
    const n = shape.reduce((a, b) => a * b, 1);
    if (m.dtype === 'float32') {
      const d = new Float32Array(n);
      for (let i = 0; i < n; ++i) d[i] = rand();
      feeds[m.name] = new ort.Tensor('float32', d, shape);
    } else if (m.dtype === 'int64') {
      const d = new BigInt64Array(n);
      for (let i = 0; i < n; ++i) d[i] = m.name.includes('mask') ? 1n : BigInt(Math.floor(rand() * 1000));
      feeds[m.name] = new ort.Tensor('int64', d, shape);
    } else {
      console.error(`ort_bench: input dtype ${m.dtype} not handled`); process.exit(2);
    }
  }
  const warmEnd = process.hrtime.bigint() + BigInt(Math.round(warmup * 1e9));
  do { await session.run(feeds); } while (process.hrtime.bigint() < warmEnd);
  const times = [];
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  let t1;
  do {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    t1 = process.hrtime.bigint();
    times.push(Number(t1 - t0) / 1e6);
  } while (t1 < end || times.length < minIters);
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(JSON.stringify({ median_ms: times[Math.floor(times.length / 2)], mean_ms: mean, iterations: times.length, threads }));
}

main().catch((e) => { console.error(`ort_bench: ${e.message || e}`); process.exit(1); });
