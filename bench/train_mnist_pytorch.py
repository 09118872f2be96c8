#!/usr/bin/python3
"""PyTorch (Python) peer for `sparsify train`: mnist_cnn on the same IDX data, same batch,
optimizer and threads. Prints one JSON line: {"images_per_second": ...}. Bench only."""
import argparse, json, struct, time
import numpy as np
import torch
from torch import nn


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class MnistCnn(nn.Module):  # the SparseML tutorial model
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
        self.conv2 = nn.Sequential(nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
        self.out = nn.Linear(3136, 10)

    def forward(self, x):
        return self.out(self.conv2(self.conv1(x)).flatten(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--images", type=int, default=12800)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    images = read_idx(f"{args.data_dir}/train-images-idx3-ubyte")[: args.images]
    labels = read_idx(f"{args.data_dir}/train-labels-idx1-ubyte")[: args.images]
    model = MnistCnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    order = np.random.default_rng(42).permutation(len(images))
    start = time.perf_counter()
    seen = 0
    for b in range(0, len(order), args.batch_size):
        idx = order[b:b + args.batch_size]
        x = (torch.from_numpy(images[idx].astype(np.float32)).unsqueeze(1) / 255.0 - 0.1307) / 0.3081
        y = torch.from_numpy(labels[idx].astype(np.int64))
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += len(idx)
    seconds = time.perf_counter() - start
    print(json.dumps({"images_per_second": seen / seconds, "images": seen, "seconds": seconds}))


if __name__ == "__main__":
    main()
