"""The training loop: progress bar, JSONL metrics, periodic validation with best-checkpoint keeping,
signal-safe resumable checkpoints, mixed precision and channels_last (fp16 on CUDA; on CPU per model
family, :data:`CPU_AUTO`), DDP under torchrun.

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

import functools
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
    build_model_from_config,
    build_optimizer,
    build_scheduler,
    build_train_dataset,
    model_spec,
)
from featherpose.engine.checkpoint import (
    CheckpointError,
    init_from,
    load_state,
    model_state,
    save_state,
    save_weights,
    unwrap,
)
from featherpose.engine.config import TrainConfig, config_to_dict
from featherpose.engine.datasets import dataset_keypoint_set
from featherpose.engine.evaluate import evaluate
from featherpose.engine.sampler import EpochBatchSampler, steps_per_epoch
from featherpose.modelfile import ModelMeta, training_meta

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


DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

# CPU defaults of ``precision: auto`` / ``channels_last: auto`` per model family: the fastest setting whose
# loss curve matches fp32 over the same steps (benchmarks/train_throughput.py, docs/training.md; speed-up of
# a training step over fp32 contiguous on this 2-core AVX-512-BF16 CPU in the comments). Families not listed
# keep fp32 in the contiguous format.
CPU_AUTO: dict[str, tuple[str, bool]] = {
    "mobileposenet": ("fp32", True),  # x1.5-1.75 (bf16 gains nothing at 128x96)
    "litepose": ("fp32", True),  # x1.9
    "wlitepose": ("fp32", True),  # x1.6
    "openpose": ("bf16", True),  # x1.6-2.0 (bf16 contiguous x1.5-1.7)
    "simplebaseline": ("bf16", True),  # x1.6-2.0
    "hrnet": ("bf16", True),  # x2.0
    "gadnet": ("bf16", True),  # x1.4
    "hr_litenet": ("bf16", False),  # x1.4 (bf16 channels_last x1.5, but its curve strayed further than fp32's)
}


@dataclass(frozen=True)
class Precision:
    """How a run computes: the forward pass's autocast dtype and the memory format of model and images."""

    name: str  # fp32 | bf16 | fp16
    channels_last: bool
    device_type: str = "cpu"

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device_type, dtype=DTYPES[self.name], enabled=self.name != "fp32")

    def scaler(self) -> torch.amp.GradScaler:
        """fp16 needs loss scaling; bf16 has fp32's exponent range and does not."""
        return torch.amp.GradScaler(self.device_type, enabled=self.name == "fp16")

    def prepare(self, model: nn.Module) -> nn.Module:
        return model.to(memory_format=torch.channels_last) if self.channels_last else model


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU does bf16 arithmetic in hardware (x86 AVX512-BF16 / AMX-BF16, Arm BF16, as Linux reports
    them). Elsewhere bf16 autocast is emulated and slower than fp32, so ``precision: auto`` keeps fp32."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


def resolve_precision(cfg: TrainConfig, device: torch.device | str) -> Precision:
    """The precision and memory format ``cfg`` asks for on ``device`` (``auto`` resolved)."""
    dev = torch.device(device).type
    family = CPU_AUTO.get(model_spec(cfg.model.name).family, ("fp32", False)) if dev == "cpu" else ("fp16", True)
    if family[0] == "bf16" and dev == "cpu" and not cpu_has_native_bf16():
        family = ("fp32", family[1])
    name = cfg.precision if cfg.precision != "auto" else (family[0] if cfg.amp else "fp32")
    channels_last = family[1] if cfg.channels_last == "auto" else bool(cfg.channels_last)
    if name == "fp16" and dev != "cuda":
        raise ValueError(f"precision fp16 needs CUDA (on {dev} use bf16 or fp32)")
    return Precision(name, channels_last, dev)


def train_step(net: nn.Module, batch: dict, loss_fn: nn.Module, optimizer: torch.optim.Optimizer,
               scaler: torch.amp.GradScaler, precision: Precision) -> tuple[torch.Tensor, dict]:  # fmt: skip
    """One optimiser step: forward under the run's autocast, the loss in fp32, backward, update."""
    with precision.autocast():
        outputs = net(batch["image"])
    loss, parts = loss_fn(_float_outputs(outputs), batch)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss, parts


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
    model = build_model_from_config(cfg, kset).to(dev)
    precision = resolve_precision(cfg, dev)
    model = precision.prepare(model)
    loss_fn = build_loss(cfg, kset)
    meta = training_meta(cfg, kset, codec, model)  # what every weights file written here carries
    dataset = build_train_dataset(cfg, codec, seed, Normalisation.for_model(model))
    spe = steps_per_epoch(len(dataset), cfg.batch_size, info.world_size)
    optimizer = build_optimizer(cfg, model)
    scheduler = build_scheduler(cfg, optimizer, spe)
    scaler = precision.scaler()

    epoch, step, best, train_seconds, cpu_before = 0, 0, None, 0.0, 0.0
    cpu_start = time.process_time()

    def cpu_seconds() -> float:  # CPU time of this process, all threads, across resumes
        return round(cpu_before + time.process_time() - cpu_start, 2)
    state_path = out / "state.pt"
    if cfg.model.init and not resume:
        _init_model(model, cfg.model.init, info.is_main)
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
    val_step = -1  # the step last validated (its score goes into last.safetensors)

    def save(kind: str) -> None:
        if not info.is_main:
            return
        score = last_metrics.get("score") if val_step == step else None
        save_weights(model, out / "last.safetensors", meta.with_provenance(epochs=epoch, step=step, score=score))
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
                batch = _to_device(batch, dev, precision.channels_last)
                lr = optimizer.param_groups[0]["lr"]  # the rate this step uses
                loss, parts = train_step(net, batch, loss_fn, optimizer, scaler, precision)
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
                                                   best, train_seconds, t_start, cpu_seconds(), meta)  # fmt: skip
                    val_step = step
            save(stopped)
            ddp.barrier()
    if info.is_main:
        log.write(type="end", epoch=epoch, step=step, stopped=stopped, best_score=best,
                  train_seconds=round(train_seconds, 2), wall_seconds=round(time.perf_counter() - t_start, 2),
                  cpu_seconds=cpu_seconds(), precision=precision.name, channels_last=precision.channels_last)
        if stopped == "signal":
            print(f"stopped by signal {flag.signum}; resumable checkpoint in {out} (use --resume)")
    return TrainResult(out, epoch, step, stopped, best, last_metrics)


def init_path(init: str) -> Path:
    """What ``model.init`` / ``--init`` names: a weights file, or shipped weights as ``MODEL`` or ``MODEL:TAG``."""
    from featherpose import pretrained

    name, _, tag = init.partition(":")
    if name in pretrained.PRETRAINED and not Path(init).exists():
        found = pretrained.shipped(name, tag or None)
        if found is None:
            raise CheckpointError(f"--init {init}: {name} has no shipped weights in this installation")
        return found
    return Path(init)


def _init_model(model: nn.Module, init: str, verbose: bool) -> None:
    path = init_path(init)
    kept, fresh = init_from(model, path)
    if verbose:
        more = f" (first: {', '.join(fresh[:3])})" if fresh else ""
        print(f"init from {path}: kept {len(kept)} tensors, re-initialised {len(fresh)}{more}", flush=True)


def _validate(
    model: nn.Module, cfg: TrainConfig, codec: object, kset: object, dev: torch.device, info: ddp.DistInfo,
    log: MetricsLog, out: Path, epoch: int, step: int, best: float | None, train_seconds: float, t_start: float,
    cpu: float = 0.0, meta: ModelMeta | None = None,
) -> tuple[dict, float | None]:  # fmt: skip
    metrics: dict = {}
    if info.is_main and cfg.data.type != "synthetic":
        metrics = evaluate(model, cfg, codec, kset, dev)
        log.write(type="val", epoch=epoch, step=step, **metrics, train_seconds=round(train_seconds, 2),
                  wall_seconds=round(time.perf_counter() - t_start, 2), cpu_seconds=cpu)  # fmt: skip
        if best is None or metrics["score"] > best:
            best = metrics["score"]
            save_weights(model, out / "best.safetensors",
                         meta and meta.with_provenance(epochs=epoch, step=step, score=best))  # fmt: skip
        tqdm.write(f"epoch {epoch}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k != "score"))
    elif info.is_main:  # synthetic data has no metric: keep the latest weights as "best"
        save_weights(model, out / "best.safetensors", meta and meta.with_provenance(epochs=epoch, step=step))
    ddp.barrier()
    return metrics, best
