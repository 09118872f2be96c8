#!/usr/bin/env node
// Runs an ONNX model in ONNX Runtime (onnxruntime-node) on raw inputs described by inputs.json
// (as written by export_models.py) and optionally writes the outputs as ONNX TensorProto files
// output_K.pb beside them, for the engine to compare against.
//
// usage: ort_run.js MODEL.onnx DATA_DIR [--threads N] [--iterations N] [--warmup N] [--write-outputs]
// Prints one JSON line: {"median_ms":..,"mean_ms":..,"iterations":..,"threads":..}
// The onnxruntime-node package is looked up in $SPARSIFY_ORT_NODE, then <repo>/.deps/node_modules.
'use strict';
const fs = require('fs');
const path = require('path');

function loadOrt() {
  const candidates = [process.env.SPARSIFY_ORT_NODE, path.join(__dirname, '..', '..', '.deps', 'node_modules', 'onnxruntime-node'),
                      'onnxruntime-node'].filter(Boolean);
  for (const c of candidates) {
    try { return require(c); } catch (e) { /* next */ }
  }
  console.error('ort_run: onnxruntime-node not found (run scripts/setup.sh or set SPARSIFY_ORT_NODE)');
  process.exit(77);
}

const kArrays = { float32: [Float32Array, 'float32', 1], int64: [BigInt64Array, 'int64', 7], int32: [Int32Array, 'int32', 6] };

// Minimal protobuf writer for onnx.TensorProto: dims=1 (packed int64), data_type=2, name=8, raw_data=9.
function varint(n) {
  const out = [];
  let v = BigInt(n);
  do { let b = Number(v & 0x7fn); v >>= 7n; if (v) b |= 0x80; out.push(b); } while (v);
  return Buffer.from(out);
}
function field(tag, wire) { return varint((tag << 3) | wire); }
function tensorProto(name, type, dims, bytes) {
  const packed = Buffer.concat(dims.map((d) => varint(d)));
  const nameBuf = Buffer.from(name, 'utf8');
  return Buffer.concat([field(1, 2), varint(packed.length), packed, field(2, 0), varint(type),
                        field(8, 2), varint(nameBuf.length), nameBuf, field(9, 2), varint(bytes.length), bytes]);
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : def; };
  if (args.length < 2) { console.error('usage: ort_run.js MODEL.onnx DATA_DIR [--threads N] [--iterations N] [--warmup N] [--write-outputs]'); process.exit(2); }
  const [model, dir] = args;
  const threads = opt('--threads', 1), iterations = opt('--iterations', 1), warmup = opt('--warmup', 1);
  const ort = loadOrt();
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1,
                                                             graphOptimizationLevel: 'all', executionMode: 'sequential' });
  const feeds = {};
  for (const m of JSON.parse(fs.readFileSync(path.join(dir, 'inputs.json'), 'utf8'))) {
    const [Arr, type] = kArrays[m.dtype];
    const buf = fs.readFileSync(path.join(dir, m.file));
    const data = new Arr(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    feeds[m.name] = new ort.Tensor(type, data, m.shape);
  }
  let results;
  for (let i = 0; i < warmup; ++i) results = await session.run(feeds);
  const times = [];
  for (let i = 0; i < iterations; ++i) {
    const t0 = process.hrtime.bigint();
    results = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  if (args.includes('--write-outputs')) {
    session.outputNames.forEach((name, k) => {
      const t = results[name];
      const code = kArrays[t.type][2];
      const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      fs.writeFileSync(path.join(dir, `output_${k}.pb`), tensorProto(name, code, t.dims, bytes));
    });
  }
  times.sort((a, b) => a - b);
  const median = times.length ? times[Math.floor(times.length / 2)] : 0;
  const mean = times.length ? times.reduce((a, b) => a + b, 0) / times.length : 0;
  console.log(JSON.stringify({ median_ms: median, mean_ms: mean, iterations, threads }));
}

main().catch((e) => { console.error(`ort_run: ${e.message || e}`); process.exit(1); });
