"""Run by test_distributed.py, under torchrun (2 processes) or alone: trains the tiny model on
synthetic data into OUT with BATCH images per process (no BN, no dropout: DDP must then equal one
process on the combined batch)."""

from __future__ import annotations

import sys

import torch
from tiny_model import register_tiny, tiny_config

from featherpose.engine.config import config_from_dict
from featherpose.engine.trainer import train

if __name__ == "__main__":
    torch.set_num_threads(1)
    out, batch = sys.argv[1], int(sys.argv[2])
    register_tiny()
    cfg = tiny_config(batch_size=batch, epochs=2, model={"name": "tiny_test_net",
                                                         "args": {"batch_norm": False, "dropout": 0.0}})
    cfg["data"] = {"type": "synthetic", "synthetic_size": 16}
    result = train(config_from_dict(cfg), out, progress=False)
    print(f"rank done: step {result.step}")
