"""DDP through torchrun on CPU (gloo, 2 processes) equals one process on the combined batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file
from tiny_model import TinyNet

from featherpose.engine.sampler import EpochBatchSampler

HERE = Path(__file__).resolve().parent


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("RANK", None)
    env.pop("WORLD_SIZE", None)
    return env


def test_ranks_split_the_single_process_batches() -> None:
    single = list(EpochBatchSampler(10, 4, epoch=3, seed=7))
    ranks = [list(EpochBatchSampler(10, 2, epoch=3, seed=7, rank=r, world_size=2)) for r in (0, 1)]
    for s, (b0, b1) in enumerate(zip(*ranks, strict=False)):
        assert sorted(b0 + b1) == sorted(single[s])
    resumed = list(EpochBatchSampler(10, 4, epoch=3, seed=7, start_batch=1))
    assert resumed == single[1:]
    assert list(EpochBatchSampler(10, 4, epoch=4, seed=7)) != single


def test_ddp_two_processes_equal_one_process_on_combined_batch(tmp_path: Path) -> None:
    worker = str(HERE / "ddp_worker.py")
    ddp = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", worker,
         str(tmp_path / "ddp"), "4"],
        env=_env(), capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert ddp.stdout.count("rank done: step 4") == 2  # 16 samples / (2 x 4) = 2 steps x 2 epochs
    single = subprocess.run([sys.executable, worker, str(tmp_path / "single"), "8"], env=_env(),
                            capture_output=True, text=True, timeout=240)  # fmt: skip
    assert single.returncode == 0, single.stderr[-3000:]
    a = load_file(str(tmp_path / "ddp" / "last.safetensors"))
    b = load_file(str(tmp_path / "single" / "last.safetensors"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-6, msg=k)
    torch.manual_seed(0)  # the trainer's initialisation: training moved the weights far beyond the tolerance
    init = TinyNet(batch_norm=False, dropout=0.0).state_dict()
    assert not torch.allclose(a["body.0.weight"], init["body.0.weight"], atol=1e-3)
    # rank 0 alone writes: one metrics line per step, not two
    lines = (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()
    assert sum('"type": "train"' in line for line in lines) == 4
