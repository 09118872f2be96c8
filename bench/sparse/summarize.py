#!/usr/bin/python3
"""Summarizes a bench/sparse/run.sh results TSV: the median over rounds of each (model, batch, engine,
variant) and its speed-up against ONNX Runtime dense fp32 of the same model and batch; plus the output
checks. Prints Markdown.  usage: summarize.py RESULTS.tsv [CHECKS.tsv]"""
import csv
import statistics
import sys

ORDER = {"sparsify": 0, "onnxruntime": 1, "pytorch": 2}


def main():
    rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
    groups, loads = {}, []
    for r in rows:
        if not r["median_ms"]:
            continue
        groups.setdefault((r["model"], int(r["batch"]), r["variant"], r["engine"]), []).append(float(r["median_ms"]))
        loads.append(float(r["load1"]))
    rounds = max((int(r["round"]) for r in rows), default=0)
    print(f"| model | batch | variant | engine | median ms/batch | items/s | speed-up vs ORT dense fp32 |")
    print("|---|---:|---|---|---:|---:|---:|")
    variants = {}
    for (m, b, v, e) in groups:
        variants.setdefault((m, b), []).append((v, e))
    for (m, b) in sorted(variants, key=lambda k: (k[0], k[1])):
        base = groups.get((m, b, "dense fp32", "onnxruntime"))
        base_ms = statistics.median(base) if base else None
        order = sorted(set(variants[(m, b)]), key=lambda ve: (0 if ve[0].startswith("dense") else 1 if "fp32" in ve[0] else 2, ORDER.get(ve[1], 9)))
        for v, e in order:
            ms = statistics.median(groups[(m, b, v, e)])
            ratio = f"{base_ms / ms:.2f}x" if base_ms else "-"
            print(f"| {m} | {b} | {v} | {e} | {ms:.2f} | {1000.0 * b / ms:.1f} | {ratio} |")
    if loads:
        print(f"\n{rounds} round(s); 1-minute load average during the measurements: median {statistics.median(loads):.1f}, "
              f"min {min(loads):.1f}, max {max(loads):.1f}")
    if len(sys.argv) > 2:
        checks = list(csv.DictReader(open(sys.argv[2]), delimiter="\t"))
        if checks:
            print("\n| model | variant | output | max abs diff | relative | tolerance | ok |")
            print("|---|---|---|---:|---:|---:|---|")
            for c in checks:
                print(f"| {c['model']} | {c['variant']} | {c['output']} | {c['max_abs_diff']} | {c['rel_diff']} | {c['tolerance']} | {c['ok']} |")


if __name__ == "__main__":
    main()
