#!/usr/bin/python3
"""Benchmark models for bench/sparse: ResNet-50 and MobileNetV2 at 224x224 and a BERT-base-shaped
encoder (12 layers, hidden 768, 12 heads, FFN 3072, sequence 128), random weights, exported to ONNX
with the same code as the parity set (tests/models/export_models.py, config "bench").

  models.py export --out build/bench/models --models resnet50,mobilenet_v2,bert
  models.py torch  --model resnet50 --batch 16 --seconds 5 --warmup 1 --threads 2 [--min-iterations 3]

`torch` times the dense model in PyTorch (set_num_threads, no_grad, eval) and prints one JSON line
{"median_ms":..,"mean_ms":..,"iterations":..}. Exits 77 when torch/torchvision/onnx are missing.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "models"))
import export_models as em  # noqa: E402  (exits 77 itself when torch is missing)

em.CONFIGS["bench"] = {
    "resnet50": {"hw": 224},
    "mobilenet_v2": {"hw": 224},
    "bert": {"layers": 12, "hidden": 768, "heads": 12, "seq": 128, "vocab": 30522},
}


def torch_inputs(name, cfg, batch, gen):
    torch = em.torch
    if name in ("resnet50", "mobilenet_v2"):
        return (torch.rand(batch, 3, cfg["hw"], cfg["hw"], generator=gen),)
    ids = torch.randint(0, cfg["vocab"], (batch, cfg["seq"]), generator=gen)
    return ids, torch.ones(batch, cfg["seq"], dtype=torch.int64)


def time_torch(a):
    torch = em.torch
    torch.set_num_threads(a.threads)
    cfg = em.CONFIGS["bench"][a.model]
    gen = torch.Generator().manual_seed(1234)
    torch.manual_seed(1234)
    model = em.build(a.model, cfg, gen)[0].eval()
    args = torch_inputs(a.model, cfg, a.batch, gen)
    times = []
    with torch.no_grad():
        end = time.perf_counter() + a.warmup
        while True:
            model(*args)
            if time.perf_counter() >= end:
                break
        end = time.perf_counter() + a.seconds
        while True:
            t0 = time.perf_counter()
            model(*args)
            t1 = time.perf_counter()
            times.append((t1 - t0) * 1e3)
            if t1 >= end and len(times) >= a.min_iterations:
                break
    times.sort()
    print(json.dumps({"median_ms": times[len(times) // 2], "mean_ms": sum(times) / len(times),
                      "iterations": len(times), "threads": a.threads}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--out", required=True)
    e.add_argument("--models", default="resnet50,mobilenet_v2,bert")
    t = sub.add_parser("torch")
    t.add_argument("--model", required=True, choices=sorted(em.CONFIGS["bench"]))
    t.add_argument("--batch", type=int, default=1)
    t.add_argument("--seconds", type=float, default=5)
    t.add_argument("--warmup", type=float, default=1)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--min-iterations", type=int, default=3)
    a = ap.parse_args()
    if a.cmd == "export":
        em.torch.set_num_threads(2)
        for name in a.models.split(","):
            if name not in em.CONFIGS["bench"]:
                sys.exit(f"models.py: unknown model '{name}' (known: {', '.join(em.CONFIGS['bench'])})")
            em.export(a.out, "bench", name)
    else:
        time_torch(a)


if __name__ == "__main__":
    main()
