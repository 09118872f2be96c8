#!/usr/bin/env node
// Runs exported ONNX models in ONNX Runtime (onnxruntime-node) on their test_data_set_* and compares with the
// LibTorch outputs stored there: max |difference|, top-1 agreement, and accuracy when labels_0.pb exists.
//
//   node run_onnx.js --all DIR          every DIR/<case>/ holding model.onnx and check.json
//   node run_onnx.js MODEL_DIR [--max-abs X] [--min-agreement F] [--max-accuracy-drop F] [--model FILE]
//
// check.json: {"max_abs": 1e-4} and/or {"min_agreement": 0.99, "max_accuracy_drop": 0.002}.
// Exit codes: 0 all pass, 1 a check failed, 77 onnxruntime-node is not installed (ctest: skipped).
'use strict';
const fs = require('fs');
const path = require('path');

function loadOrt() {
  const candidates = ['onnxruntime-node', path.resolve(__dirname, '../../.deps/node_modules/onnxruntime-node')];
  for (const c of candidates) {
    try {
      return require(c);
    } catch (e) { /* next */ }
  }
  return null;
}

// ---- Minimal onnx.TensorProto reader: dims (1), data_type (2), float_data (4), int64_data (7),
// name (8), raw_data (9). Enough for the files the exporter writes and the backend-test files.
function readVarint(buf, pos) {
  let result = 0n, shift = 0n;
  for (;;) {
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

const DTYPES = {1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64'};

function parseTensor(buf) {
  const t = {dims: [], dataType: 0, name: '', raw: null, floats: [], int64s: []};
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n), wire = Number(key & 7n);
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      if (field === 1) t.dims.push(Number(BigInt.asIntN(64, v)));
      else if (field === 2) t.dataType = Number(v);
      else if (field === 7) t.int64s.push(BigInt.asIntN(64, v));
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      const end = pos + Number(len);
      const body = buf.subarray(pos, end);
      if (field === 8) t.name = body.toString('utf8');
      else if (field === 9) t.raw = body;
      else if (field === 1 || field === 7) {  // packed int64
        let p = 0;
        while (p < body.length) {
          let v;
          [v, p] = readVarint(body, p);
          if (field === 1) t.dims.push(Number(BigInt.asIntN(64, v)));
          else t.int64s.push(BigInt.asIntN(64, v));
        }
      } else if (field === 4) {  // packed float
        for (let p = 0; p + 4 <= body.length; p += 4) t.floats.push(body.readFloatLE(p));
      }
      pos = end;
    } else if (wire === 5) {
      if (field === 4) t.floats.push(buf.readFloatLE(pos));
      pos += 4;
    } else if (wire === 1) {
      pos += 8;
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
  const type = DTYPES[t.dataType];
  if (!type) throw new Error(`tensor '${t.name}': data_type ${t.dataType} not supported here`);
  let data;
  if (t.raw) {
    const copy = Buffer.from(t.raw);  // aligned copy
    const ab = copy.buffer.slice(copy.byteOffset, copy.byteOffset + copy.length);
    data = type === 'float32' ? new Float32Array(ab) : type === 'int64' ? new BigInt64Array(ab) :
           type === 'int32' ? new Int32Array(ab) : type === 'int8' ? new Int8Array(ab) : new Uint8Array(ab);
  } else if (type === 'float32') {
    data = Float32Array.from(t.floats);
  } else if (type === 'int64') {
    data = BigInt64Array.from(t.int64s);
  } else {
    throw new Error(`tensor '${t.name}': no data`);
  }
  return {name: t.name, type, dims: t.dims, data};
}

function readTensor(file) { return parseTensor(fs.readFileSync(file)); }

function argmaxRows(data, rows, cols) {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; ++r) {
    let best = 0;
    for (let c = 1; c < cols; ++c) if (data[r * cols + c] > data[r * cols + best]) best = c;
    out[r] = best;
  }
  return out;
}

async function runModel(ort, modelPath, input, inputName, outputName, chunk) {
  const session = await ort.InferenceSession.create(modelPath, {intraOpNumThreads: 2, interOpNumThreads: 1});
  const batch = input.dims[0];
  const per = input.data.length / batch;
  const step = chunk > 0 ? Math.min(chunk, batch) : batch;
  let out = null, outDims = null;
  for (let b = 0; b < batch; b += step) {
    const n = Math.min(step, batch - b);
    const slice = input.data.subarray(b * per, (b + n) * per);
    const feeds = {[inputName]: new ort.Tensor(input.type, slice, [n, ...input.dims.slice(1)])};
    const res = (await session.run(feeds))[outputName];
    if (!out) {
      outDims = [batch, ...res.dims.slice(1)];
      out = new Float32Array(res.data.length / n * batch);
    }
    out.set(res.data, b * (res.data.length / n));
  }
  return {data: out, dims: outDims, session};
}

async function checkCase(ort, dir, check) {
  const modelFile = path.join(dir, check.model || 'model.onnx');
  const results = [];
  const sets = fs.readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort();
  if (sets.length === 0) throw new Error(`${dir}: no test_data_set_*`);
  for (const set of sets) {
    const sdir = path.join(dir, set);
    const input = readTensor(path.join(sdir, 'input_0.pb'));
    const expected = readTensor(path.join(sdir, 'output_0.pb'));
    const labelsFile = path.join(sdir, 'labels_0.pb');
    const labels = fs.existsSync(labelsFile) ? readTensor(labelsFile) : null;
    const {data} = await runModel(ort, modelFile, input, input.name, expected.name, check.chunk || 0);
    if (data.length !== expected.data.length) {
      throw new Error(`${dir}/${set}: output has ${data.length} values, expected ${expected.data.length}`);
    }
    let maxAbs = 0;
    for (let i = 0; i < data.length; ++i) maxAbs = Math.max(maxAbs, Math.abs(data[i] - expected.data[i]));
    const rows = expected.dims[0], cols = expected.data.length / rows;
    const got = argmaxRows(data, rows, cols), want = argmaxRows(expected.data, rows, cols);
    let agree = 0, correctOrt = 0, correctRef = 0;
    for (let r = 0; r < rows; ++r) {
      if (got[r] === want[r]) ++agree;
      if (labels) {
        const l = Number(labels.data[r]);
        if (got[r] === l) ++correctOrt;
        if (want[r] === l) ++correctRef;
      }
    }
    const r = {set, rows, maxAbs, agreement: agree / rows};
    if (labels) {
      r.accuracyOrt = correctOrt / rows;
      r.accuracyRef = correctRef / rows;
    }
    results.push(r);
  }
  const failures = [];
  for (const r of results) {
    if (check.max_abs !== undefined && !(r.maxAbs <= check.max_abs)) {
      failures.push(`${r.set}: max |diff| ${r.maxAbs.toExponential(3)} > ${check.max_abs}`);
    }
    if (check.min_agreement !== undefined && !(r.agreement >= check.min_agreement)) {
      failures.push(`${r.set}: top-1 agreement ${(100 * r.agreement).toFixed(2)} % < ${100 * check.min_agreement} %`);
    }
    if (check.max_accuracy_drop !== undefined && r.accuracyOrt !== undefined &&
        !(Math.abs(r.accuracyRef - r.accuracyOrt) <= check.max_accuracy_drop + 1e-12)) {
      failures.push(`${r.set}: accuracy ${(100 * r.accuracyOrt).toFixed(2)} % vs ${(100 * r.accuracyRef).toFixed(2)} %`);
    }
  }
  return {results, failures};
}

function describe(name, results) {
  return results.map((r) => {
    let s = `${name}/${r.set}: n=${r.rows} max|diff|=${r.maxAbs.toExponential(3)} top1-agreement=${(100 * r.agreement).toFixed(2)}%`;
    if (r.accuracyOrt !== undefined) {
      s += ` accuracy ort=${(100 * r.accuracyOrt).toFixed(2)}% libtorch=${(100 * r.accuracyRef).toFixed(2)}%`;
    }
    return s;
  }).join('\n');
}

async function main() {
  const args = process.argv.slice(2);
  const ort = loadOrt();
  if (!ort) {
    console.log('onnxruntime-node is not installed (ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0 in .deps): skipping');
    process.exit(77);
  }
  const cases = [];
  if (args[0] === '--all') {
    const root = args[1];
    if (!root || !fs.existsSync(root)) {
      console.error(`no artifacts dir '${root}'`);
      process.exit(1);
    }
    for (const d of fs.readdirSync(root).sort()) {
      const dir = path.join(root, d);
      const checkFile = path.join(dir, 'check.json');
      if (fs.existsSync(checkFile)) cases.push({name: d, dir, check: JSON.parse(fs.readFileSync(checkFile, 'utf8'))});
    }
    if (cases.length === 0) {
      console.error(`${root}: no case dirs with check.json`);
      process.exit(1);
    }
  } else {
    const check = {};
    for (let i = 1; i < args.length; i += 2) {
      const key = args[i].replace(/^--/, '').replace(/-/g, '_');
      check[key] = key === 'model' ? args[i + 1] : Number(args[i + 1]);
    }
    cases.push({name: path.basename(args[0]), dir: args[0], check});
  }
  let failed = 0;
  for (const c of cases) {
    try {
      const {results, failures} = await checkCase(ort, c.dir, c.check);
      console.log(describe(c.name, results) + (failures.length ? '  FAIL' : '  ok'));
      for (const f of failures) console.log(`  ${c.name}: ${f}`);
      if (failures.length) ++failed;
    } catch (e) {
      console.log(`${c.name}: ERROR ${e.message.split('\n')[0]}`);
      ++failed;
    }
  }
  console.log(`${cases.length - failed}/${cases.length} models pass`);
  process.exit(failed ? 1 : 0);
}

main();
