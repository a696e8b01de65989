"""Training throughput (images/s) per model on this machine: forward + loss + backward + Adam step
on random inputs of each recipe's input size and batch, after warm-up. Prints a Markdown table.

    .venv/bin/python benchmarks/train_throughput.py --threads 2 --batch 16 --steps 5 \
        configs/mobileposenet_coco-mini.yaml configs/litepose_xs_coco-mini.yaml
"""

from __future__ import annotations

import argparse
import time

import torch

from featherpose.engine.build import build_codec, build_loss, build_model, build_train_dataset
from featherpose.engine.config import load_config
from featherpose.engine.datasets import dataset_keypoint_set
from featherpose.engine.sampler import EpochBatchSampler


def measure(config: str, batch: int, steps: int, warmup: int, real_data: bool, data_root: str | None = None) -> dict:
    cfg = load_config(config, data_root)
    kset = dataset_keypoint_set(cfg)
    codec = build_codec(cfg, kset)
    model = build_model(cfg, kset).train()
    loss_fn = build_loss(cfg, kset)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    data = build_train_dataset(cfg, codec, 0)
    batches = [b for b, _ in zip(EpochBatchSampler(len(data), batch, 0), range(1), strict=False)]
    samples = torch.utils.data.default_collate([data[k] for k in batches[0]])
    if not real_data:
        samples["image"] = torch.randn_like(samples["image"])
    times = []
    for i in range(warmup + steps):
        t = time.perf_counter()
        out = model(samples["image"])
        loss, _ = loss_fn(out, samples)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    t = time.perf_counter()
    for k in batches[0]:
        data[k]
    load = (time.perf_counter() - t) / len(batches[0])
    best, med = min(times), sorted(times)[len(times) // 2]
    return {"model": cfg.model.name, "input": "x".join(map(str, cfg.input_size)), "batch": batch,
            "img_s_median": batch / med, "img_s_best": batch / best, "load_ms_per_sample": 1000 * load}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("configs", nargs="+")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--data-root", help="dataset root for every config (e.g. ../shared/data/coco-mini)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads\n")
    print("| model | input | batch | train img/s (median) | best | data loading ms/sample |")
    print("|---|---|---|---|---|---|")
    for c in args.configs:
        r = measure(c, args.batch, args.steps, args.warmup, True, args.data_root)
        print(f"| {r['model']} | {r['input']} | {r['batch']} | {r['img_s_median']:.1f} | {r['img_s_best']:.1f} "
              f"| {r['load_ms_per_sample']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
