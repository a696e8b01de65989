"""The training loop: progress bar, JSONL metrics, periodic validation with best-checkpoint keeping,
signal-safe resumable checkpoints, AMP / channels_last on CUDA, DDP under torchrun.

Files in the output directory (written by rank 0 only):

- ``last.safetensors``  weights after the latest completed epoch (or the interruption point)
- ``best.safetensors``  weights with the best validation score so far
- ``state.pt``          resumable state: weights, optimiser, scheduler, AMP scaler, epoch, step,
                        best score, RNG states (``torch.load(weights_only=True)``)
- ``metrics.jsonl``     one JSON object per line: ``train`` (loss, lr, images/s), ``val``, ``end``
- ``config.yaml``       the resolved config

Exact resumption: the batch order depends on (seed, epoch), each sample's augmentation on (seed,
epoch, index) and the torch RNG (dropout) is re-seeded from (seed, epoch, step, rank) before every
step, so an interrupted and resumed run on CPU ends with bit-identical weights.
"""

from __future__ import annotations

import json
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from featherpose.data.transforms import Normalisation
from featherpose.engine import distributed as ddp
from featherpose.engine.build import (
    build_codec,
    build_loss,
    build_model,
    build_optimizer,
    build_scheduler,
    build_train_dataset,
)
from featherpose.engine.checkpoint import load_state, model_state, save_state, save_weights, unwrap
from featherpose.engine.config import TrainConfig, config_to_dict
from featherpose.engine.datasets import dataset_keypoint_set
from featherpose.engine.evaluate import evaluate
from featherpose.engine.sampler import EpochBatchSampler, steps_per_epoch

STATE_VERSION = 1


@dataclass
class TrainResult:
    """What a call of :func:`train` did."""

    out_dir: Path
    epoch: int  # epochs completed
    step: int  # optimiser steps completed
    stopped: str  # "finished" | "max_steps" | "max_minutes" | "signal"
    best_score: float | None = None
    last_metrics: dict = field(default_factory=dict)


class StopFlag:
    """SIGINT / SIGTERM set a flag the loop checks after every step (a second SIGINT aborts)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, object] = {}

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)

    @property
    def set(self) -> bool:
        return self.signum is not None


def step_seed(seed: int, epoch: int, step: int, rank: int) -> int:
    """The torch seed of one optimiser step (drives dropout and any other torch randomness)."""
    return (seed * 1_000_003 + epoch * 10_007 + step * 101 + rank * 7919) % (2**63 - 1)


class MetricsLog:
    """Append-only JSONL writer (rank 0); a no-op elsewhere."""

    def __init__(self, path: Path, enabled: bool) -> None:
        self.path, self.enabled = path, enabled

    def write(self, **record: object) -> None:
        if not self.enabled:
            return
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, default=float) + "\n")


def _to_device(batch: dict, device: torch.device, channels_last: bool) -> dict:
    out = {}
    for k, v in batch.items():
        if isinstance(v, torch.Tensor):
            v = v.to(device, non_blocking=True)
            if k == "image" and channels_last:
                v = v.contiguous(memory_format=torch.channels_last)
        out[k] = v
    return out


def _float_outputs(out: object) -> object:
    if isinstance(out, torch.Tensor):
        return out.float()
    return type(out)(o.float() for o in out)


def train(
    cfg: TrainConfig,
    out_dir: str | Path,
    resume: bool = False,
    max_steps: int | None = None,
    max_minutes: float | None = None,
    seed: int | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> TrainResult:
    """Train ``cfg`` into ``out_dir`` (see the module docstring for the files).

    ``max_steps`` stops after that many optimiser steps in total (counting resumed ones),
    ``max_minutes`` after that much wall time in this call; both leave a resumable checkpoint.
    """
    info, dev = ddp.init_distributed(device)
    try:
        return _train(cfg, Path(out_dir), resume, max_steps, max_minutes, seed, info, dev, progress)
    finally:
        ddp.shutdown()


def _train(
    cfg: TrainConfig, out: Path, resume: bool, max_steps: int | None, max_minutes: float | None,
    seed: int | None, info: ddp.DistInfo, dev: torch.device, progress: bool,
) -> TrainResult:  # fmt: skip
    seed = cfg.seed if seed is None else seed
    cuda = dev.type == "cuda"
    torch.manual_seed(seed)  # weight initialisation
    kset = dataset_keypoint_set(cfg)
    codec = build_codec(cfg, kset)
    model = build_model(cfg, kset).to(dev)
    if cuda and cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    loss_fn = build_loss(cfg, kset)
    dataset = build_train_dataset(cfg, codec, seed, Normalisation.for_model(model))
    spe = steps_per_epoch(len(dataset), cfg.batch_size, info.world_size)
    optimizer = build_optimizer(cfg, model)
    scheduler = build_scheduler(cfg, optimizer, spe)
    scaler = torch.amp.GradScaler("cuda", enabled=cuda and cfg.amp)

    epoch, step, best, train_seconds, cpu_before = 0, 0, None, 0.0, 0.0
    cpu_start = time.process_time()

    def cpu_seconds() -> float:  # CPU time of this process, all threads, across resumes
        return round(cpu_before + time.process_time() - cpu_start, 2)
    state_path = out / "state.pt"
    if resume:
        state = load_state(state_path)
        unwrap(model).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if "scaler" in state:
            scaler.load_state_dict(state["scaler"])
        epoch, step, best = int(state["epoch"]), int(state["step"]), state.get("best_score")
        train_seconds = float(state.get("train_seconds", 0.0))
        cpu_before = float(state.get("cpu_seconds", 0.0))
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False), encoding="utf-8")

    net: nn.Module = model
    if info.enabled:
        if cuda:
            net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
        net = nn.parallel.DistributedDataParallel(net, device_ids=[dev.index] if cuda else None)

    log = MetricsLog(out / "metrics.jsonl", info.is_main)
    total_steps = cfg.epochs * spe
    t_start = time.perf_counter()
    stopped = "finished"
    last_metrics: dict = {}

    def save(kind: str) -> None:
        if not info.is_main:
            return
        save_weights(model, out / "last.safetensors", {"model": cfg.model.name, "epoch": epoch, "step": step})
        save_state({
            "version": STATE_VERSION, "model": model_state(model), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "epoch": epoch, "step": step,
            "best_score": best, "train_seconds": train_seconds, "cpu_seconds": cpu_seconds(), "seed": seed,
            "reason": kind,
            "torch_rng": torch.get_rng_state(), "model_name": cfg.model.name,
        }, out / "state.pt")  # fmt: skip

    bar = tqdm(total=total_steps, initial=step, disable=not (progress and info.is_main), unit="step",
               dynamic_ncols=True, desc=cfg.model.name)  # fmt: skip
    with StopFlag() as flag, bar:
        net.train()
        if max_steps is not None and step >= max_steps:
            stopped = "max_steps"
        while epoch < cfg.epochs and stopped == "finished":
            start_batch = step - epoch * spe
            sampler = EpochBatchSampler(len(dataset), cfg.batch_size, epoch, seed, True, info.rank,
                                        info.world_size, start_batch)  # fmt: skip
            loader = DataLoader(dataset, batch_sampler=sampler, num_workers=cfg.data.workers,
                                pin_memory=cuda, persistent_workers=False)  # fmt: skip
            t_log, images_since = time.perf_counter(), 0
            for batch in loader:
                t_step = time.perf_counter()
                torch.manual_seed(step_seed(seed, epoch, step, info.rank))
                batch = _to_device(batch, dev, cuda and cfg.channels_last)
                with torch.autocast(dev.type, dtype=torch.float16, enabled=cuda and cfg.amp):
                    outputs = net(batch["image"])
                loss, parts = loss_fn(_float_outputs(outputs), batch)
                lr = optimizer.param_groups[0]["lr"]  # the rate this step uses
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                step += 1
                n_img = batch["image"].shape[0] * info.world_size
                images_since += n_img
                train_seconds += time.perf_counter() - t_step
                loss_value = float(loss.detach())
                if not math.isfinite(loss_value):
                    raise FloatingPointError(f"loss is {loss_value} at epoch {epoch} step {step}")
                now = time.perf_counter()
                ips = images_since / max(now - t_log, 1e-9)
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{loss_value:.5f}", img_s=f"{ips:.1f}")
                if step % cfg.log_interval == 0 or step == total_steps:
                    log.write(type="train", epoch=epoch, step=step, loss=loss_value,
                              **{k: float(v) for k, v in parts.items()}, lr=lr,
                              images_per_s=round(ips, 2), train_seconds=round(train_seconds, 2),
                              cpu_seconds=cpu_seconds(),
                              wall_seconds=round(now - t_start, 2))  # fmt: skip
                    t_log, images_since = now, 0
                reason = None
                if max_steps is not None and step >= max_steps:
                    reason = "max_steps"
                elif max_minutes is not None and now - t_start >= 60.0 * max_minutes:
                    reason = "max_minutes"
                if ddp.any_flag(flag.set, dev):
                    reason = "signal"
                if reason is not None and step < epoch * spe + spe:  # mid-epoch stop
                    stopped = reason
                    break
                if reason is not None:
                    stopped = reason
            if step >= epoch * spe + spe:  # the epoch is complete
                epoch += 1
                if epoch % cfg.eval.interval == 0 or epoch == cfg.epochs:
                    last_metrics, best = _validate(model, cfg, codec, kset, dev, info, log, out, epoch, step,
                                                   best, train_seconds, t_start, cpu_seconds())  # fmt: skip
            save(stopped)
            ddp.barrier()
    if info.is_main:
        log.write(type="end", epoch=epoch, step=step, stopped=stopped, best_score=best,
                  train_seconds=round(train_seconds, 2), wall_seconds=round(time.perf_counter() - t_start, 2),
                  cpu_seconds=cpu_seconds())
        if stopped == "signal":
            print(f"stopped by signal {flag.signum}; resumable checkpoint in {out} (use --resume)")
    return TrainResult(out, epoch, step, stopped, best, last_metrics)


def _validate(
    model: nn.Module, cfg: TrainConfig, codec: object, kset: object, dev: torch.device, info: ddp.DistInfo,
    log: MetricsLog, out: Path, epoch: int, step: int, best: float | None, train_seconds: float, t_start: float,
    cpu: float = 0.0,
) -> tuple[dict, float | None]:  # fmt: skip
    metrics: dict = {}
    if info.is_main and cfg.data.type != "synthetic":
        metrics = evaluate(model, cfg, codec, kset, dev)
        log.write(type="val", epoch=epoch, step=step, **metrics, train_seconds=round(train_seconds, 2),
                  wall_seconds=round(time.perf_counter() - t_start, 2), cpu_seconds=cpu)  # fmt: skip
        if best is None or metrics["score"] > best:
            best = metrics["score"]
            save_weights(model, out / "best.safetensors",
                         {"model": cfg.model.name, "epoch": epoch, "step": step, "score": best})  # fmt: skip
        tqdm.write(f"epoch {epoch}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k != "score"))
    elif info.is_main:  # synthetic data has no metric: keep the latest weights as "best"
        save_weights(model, out / "best.safetensors", {"model": cfg.model.name, "epoch": epoch, "step": step})
    ddp.barrier()
    return metrics, best
