#!/usr/bin/python3
"""Exports the real-model parity set (random weights, no downloads) to ONNX with PyTorch.

  export_models.py --out build/models [--config small|full] [--models resnet50,mobilenet_v2,bert]

Writes <out>/<config>/<model>/model.onnx and test_data_set_0/ with input_K.pb (ONNX TensorProto),
input_K.bin (raw little-endian) and inputs.json (name, dtype, shape, file per input) for the ONNX
Runtime script. Idempotent: a model whose stamp matches its configuration is not exported again.
Needs Debian's python3-torch, python3-torchvision and python3-onnx; exits 77 when they are missing.
"""
import argparse
import json
import math
import os
import sys

try:
    import numpy as np
    import onnx
    import onnx.numpy_helper
    import torch
    import torchvision
except ImportError as e:  # the ctest treats 77 as "skipped"
    print(f"export_models: skipped: {e}", file=sys.stderr)
    sys.exit(77)

CONFIGS = {
    # model: (input size or sequence, extra)
    "small": {"resnet50": {"hw": 64}, "mobilenet_v2": {"hw": 96},
              "bert": {"layers": 2, "hidden": 256, "heads": 4, "seq": 128, "vocab": 1000}},
    "full": {"resnet50": {"hw": 224}, "mobilenet_v2": {"hw": 224},
             "bert": {"layers": 4, "hidden": 256, "heads": 4, "seq": 128, "vocab": 30522}},
}
STAMP_VERSION = 1


class BertLayer(torch.nn.Module):
    """A post-LayerNorm BERT encoder block: self-attention, residual + LayerNorm, GELU FFN."""

    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.q = torch.nn.Linear(hidden, hidden)
        self.k = torch.nn.Linear(hidden, hidden)
        self.v = torch.nn.Linear(hidden, hidden)
        self.o = torch.nn.Linear(hidden, hidden)
        self.ln1 = torch.nn.LayerNorm(hidden, eps=1e-12)
        self.ff1 = torch.nn.Linear(hidden, 4 * hidden)
        self.ff2 = torch.nn.Linear(4 * hidden, hidden)
        self.ln2 = torch.nn.LayerNorm(hidden, eps=1e-12)

    def split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, mask_bias):
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + mask_bias
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
        b, h, s, d = ctx.shape
        ctx = ctx.transpose(1, 2).reshape(b, s, h * d)
        x = self.ln1(x + self.o(ctx))
        return self.ln2(x + self.ff2(torch.nn.functional.gelu(self.ff1(x))))


class Bert(torch.nn.Module):
    def __init__(self, layers, hidden, heads, seq, vocab):
        super().__init__()
        self.tok = torch.nn.Embedding(vocab, hidden)
        self.pos = torch.nn.Embedding(seq, hidden)
        self.ln = torch.nn.LayerNorm(hidden, eps=1e-12)
        self.layers = torch.nn.ModuleList([BertLayer(hidden, heads) for _ in range(layers)])
        self.pool = torch.nn.Linear(hidden, hidden)
        self.register_buffer("positions", torch.arange(seq).unsqueeze(0))

    def forward(self, input_ids, attention_mask):
        x = self.ln(self.tok(input_ids) + self.pos(self.positions))
        mask_bias = (1.0 - attention_mask.to(torch.float32)).unsqueeze(1).unsqueeze(2) * -10000.0
        for layer in self.layers:
            x = layer(x, mask_bias)
        return x, torch.tanh(self.pool(x[:, 0]))


def randomize_batchnorm(model, gen):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.weight.data = torch.rand(n, generator=gen) + 0.5
            m.bias.data = torch.randn(n, generator=gen) * 0.1
            m.running_mean.data = torch.randn(n, generator=gen) * 0.1
            m.running_var.data = torch.rand(n, generator=gen) + 0.5


def build(name, cfg, gen):
    if name in ("resnet50", "mobilenet_v2"):
        model = getattr(torchvision.models, name)(weights=None)
        randomize_batchnorm(model, gen)
        x = torch.rand(1, 3, cfg["hw"], cfg["hw"], generator=gen)
        return model, (x,), ["input"], ["logits"], {"input": {0: "batch"}, "logits": {0: "batch"}}, 13
    model = Bert(cfg["layers"], cfg["hidden"], cfg["heads"], cfg["seq"], cfg["vocab"])
    ids = torch.randint(0, cfg["vocab"], (1, cfg["seq"]), generator=gen)
    mask = torch.ones(1, cfg["seq"], dtype=torch.int64)
    mask[0, cfg["seq"] * 3 // 4:] = 0  # padding at the end exercises the mask
    axes = {"input_ids": {0: "batch"}, "attention_mask": {0: "batch"},
            "last_hidden_state": {0: "batch"}, "pooled": {0: "batch"}}
    return model, (ids, mask), ["input_ids", "attention_mask"], ["last_hidden_state", "pooled"], axes, 17


def export(out_dir, config, name):
    cfg = CONFIGS[config][name]
    d = os.path.join(out_dir, config, name)
    stamp_path = os.path.join(d, "stamp.json")
    stamp = {"version": STAMP_VERSION, "config": cfg, "torch": torch.__version__}
    if os.path.exists(stamp_path) and json.load(open(stamp_path)) == stamp:
        print(f"{d}: up to date")
        return
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    gen = torch.Generator().manual_seed(1234)
    torch.manual_seed(1234)
    model, args, in_names, out_names, axes, opset = build(name, cfg, gen)
    model.eval()
    tmp = os.path.join(d, "model.onnx.tmp")
    with torch.no_grad():
        torch.onnx.export(model, args, tmp, input_names=in_names, output_names=out_names,
                          dynamic_axes=axes, opset_version=opset, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(tmp))
    os.replace(tmp, os.path.join(d, "model.onnx"))
    meta = []
    for k, (n, a) in enumerate(zip(in_names, args)):
        arr = a.numpy()
        base = os.path.join(d, "test_data_set_0", f"input_{k}")
        with open(base + ".pb", "wb") as f:
            f.write(onnx.numpy_helper.from_array(arr, n).SerializeToString())
        arr.astype(arr.dtype.newbyteorder("<")).tofile(base + ".bin")
        meta.append({"name": n, "dtype": str(arr.dtype), "shape": list(arr.shape), "file": f"input_{k}.bin"})
    json.dump(meta, open(os.path.join(d, "test_data_set_0", "inputs.json"), "w"), indent=1)
    json.dump(stamp, open(stamp_path, "w"))
    print(f"{d}: exported (opset {opset})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--config", default="small", choices=sorted(CONFIGS))
    ap.add_argument("--models", default="resnet50,mobilenet_v2,bert")
    a = ap.parse_args()
    torch.set_num_threads(1)
    for name in a.models.split(","):
        if name not in CONFIGS[a.config]:
            sys.exit(f"export_models: unknown model '{name}' (known: {', '.join(CONFIGS[a.config])})")
        export(a.out, a.config, name)


if __name__ == "__main__":
    main()
