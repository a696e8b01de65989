"""Speed of every model on every backend, next to the machine's floor (``featherpose bench``,
``benchmarks/bench.py``).

For each model x backend (x precision): latency of one image (batch 1) split into preprocessing /
network / decoding as :class:`~featherpose.inference.PoseEstimator` measures them, and throughput at
batch 32 (32 images for bottom-up models, 32 person crops for top-down ones), on a fixed thread
count. The **floor** is the model's MACs divided by the multiply-add rate a large fp32 matrix product
(2048^3, torch) reaches in the same run: the network time of a machine that ran convolutions as
well as it runs GEMM. Models carry random weights unless given, so decoding times of bottom-up models
(which depend on how many peaks the maps hold) are indicative only.

The timing helpers (:func:`time_callable`, :func:`time_model`, used by ``featherpose demo`` and
benchmarks/) live here too; ``featherpose.benchmark`` is their old import path.
"""

from __future__ import annotations

import json
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from featherpose.complexity import complexity
from featherpose.models import get_spec, list_models

BACKENDS = ("torch", "onnxruntime", "openvino")


# -- timing helpers ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Timing:
    """Wall-clock times of repeated calls, in milliseconds."""

    median_ms: float
    min_ms: float
    max_ms: float
    repeats: int


def time_callable(fn: Callable[[], object], warmup: int = 2, repeats: int = 7) -> Timing:
    """Median / min / max wall time of ``fn()`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return Timing(statistics.median(times), min(times), max(times), repeats)


def time_model(
    model: nn.Module,
    input_size: tuple[int, int],
    batch: int = 1,
    warmup: int = 2,
    repeats: int = 7,
    threads: int | None = 2,
) -> Timing:
    """Forward-pass latency of ``model`` (eval mode, no grad) on a random batch."""
    if threads is not None:
        torch.set_num_threads(threads)
    model.eval()
    x = torch.randn(batch, 3, *input_size)
    with torch.inference_mode():
        return time_callable(lambda: model(x), warmup=warmup, repeats=repeats)


@dataclass
class BenchRow:
    """One model on one backend."""

    model: str
    backend: str
    precision: str
    input_size: tuple[int, int]
    params: int
    macs: int
    pre_ms: float = float("nan")  # batch 1, per image
    net_ms: float = float("nan")
    post_ms: float = float("nan")
    total_ms: float = float("nan")
    throughput: float = float("nan")  # images (or crops) per second at batch 32
    floor_ms: float = float("nan")  # MACs / the fp32 GEMM rate of this run
    error: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def floor_ratio(self) -> float:
        """Network time over the floor (1 = as fast as a large GEMM)."""
        return self.net_ms / self.floor_ms if self.floor_ms > 0 else float("nan")


def gemm_rate(threads: int = 2, n: int = 2048, repeats: int = 3) -> float:
    """Multiply-adds per second of an ``n x n x n`` fp32 matrix product in torch (best of ``repeats``)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(n, n), torch.randn(n, n)
        t = time_callable(lambda: a @ b, warmup=1, repeats=repeats)
    finally:
        torch.set_num_threads(before)
    return n**3 / (t.min_ms / 1e3)


def available_backends() -> list[str]:
    """The backends installed here."""
    from featherpose.deploy.util import has_module

    return [b for b in BACKENDS if b == "torch" or has_module(b)]


def default_precisions(backend: str, full: bool) -> list[str]:
    """Precisions measured for ``backend``: fp32 everywhere, plus bf16 on OpenVINO where native."""
    from featherpose.deploy.backends import native_bf16

    return ["fp32", "bf16"] if backend == "openvino" and native_bf16() else ["fp32"]


def sample_image(seed: int = 0) -> np.ndarray:
    """A 480 x 640 test picture (a real COCO image when ``../shared`` is beside the checkout)."""
    import cv2

    from featherpose.inference.demo import DEMO_DIR

    files = sorted(DEMO_DIR.glob("*.jpg")) if DEMO_DIR.is_dir() else []
    if files:
        return cv2.resize(cv2.imread(str(files[0])), (640, 480))
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), (9, 9), 3)


def _estimator(name: str, backend: str, precision: str, threads: int, input_size: object = None) -> object:
    from featherpose.inference import RUNNERS, PoseEstimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = PoseEstimator(name, backend="torch", input_size=input_size, nms="none", batch_size=32)
    if backend != "torch":
        est.runner = RUNNERS[backend](est.model, input_size=est.input_size, precision=precision, threads=threads,
                                      name=name)  # fmt: skip
    return est


def bench_model(
    name: str,
    backend: str,
    precision: str = "fp32",
    threads: int = 2,
    repeats: int = 3,
    batch: int = 32,
    batch_repeats: int = 1,
    rate: float | None = None,
    input_size: object = None,
) -> BenchRow:
    """Measure one model on one backend (see the module docstring)."""
    torch.set_num_threads(threads)
    spec = get_spec(name)
    est = _estimator(name, backend, precision, threads, input_size)
    cx = complexity(est.model, est.input_size)
    row = BenchRow(name, backend, precision, tuple(est.input_size), cx.params, cx.macs)
    image = sample_image()
    h, w = image.shape[:2]
    box = np.array([[w * 0.3, h * 0.1, w * 0.4, h * 0.8]])
    if spec.paradigm == "top-down":
        one = lambda: est.predict_batch([image], boxes=[box])  # noqa: E731
        many = lambda: est.predict_batch([image], boxes=[np.repeat(box, batch, 0)])  # noqa: E731
    else:
        one = lambda: est.predict_batch([image])  # noqa: E731
        many = lambda: est.predict_batch([image] * batch)  # noqa: E731
    one()  # compile / warm up
    est.timer.reset()
    stages = []
    for _ in range(repeats):
        est.timer.reset()
        t0 = time.perf_counter()
        one()
        stages.append((est.timer.total["pre"], est.timer.total["net"], est.timer.total["post"],
                       time.perf_counter() - t0))  # fmt: skip
    med = np.median(np.array(stages), axis=0) * 1e3
    row.pre_ms, row.net_ms, row.post_ms, row.total_ms = (float(v) for v in med)
    if batch > 1 and batch_repeats > 0:  # already warm from batch 1; one more warm-up call with --full
        t = time_callable(many, warmup=int(batch_repeats > 1), repeats=batch_repeats)
        row.throughput = batch / (t.median_ms / 1e3)
    if rate:
        row.floor_ms = cx.macs / rate * 1e3
    return row


def run_bench(
    models: Sequence[str] | None = None,
    backends: Sequence[str] | None = None,
    precisions: Sequence[str] | None = None,
    threads: int = 2,
    repeats: int = 3,
    batch: int = 32,
    batch_repeats: int = 1,
    full: bool = False,
    progress: object = None,
) -> dict:
    """Every requested model x backend x precision; returns ``{"machine": ..., "rows": [...]}``.
    A failure is recorded in its row's ``error`` instead of stopping the run."""
    models = list(models or list_models())
    backends = [b for b in (backends or available_backends())]
    torch.set_num_threads(threads)
    rate = gemm_rate(threads)
    rows = []
    for name in models:
        for backend in backends:
            for precision in precisions or default_precisions(backend, full):
                try:
                    row = bench_model(name, backend, precision, threads, repeats, batch, batch_repeats, rate)
                except Exception as exc:  # noqa: BLE001  (one broken combination must not end the table)
                    spec = get_spec(name)
                    row = BenchRow(name, backend, precision, spec.input_size, 0, 0, error=str(exc).splitlines()[0])
                rows.append(row)
                if callable(progress):
                    progress(row)
    return {"machine": machine_info(threads, rate), "rows": [_row_dict(r) for r in rows]}


def _row_dict(r: BenchRow) -> dict:
    d = asdict(r)
    d["input_size"] = list(r.input_size)
    d["floor_ratio"] = r.floor_ratio
    return d


def machine_info(threads: int, rate: float) -> dict:
    """What the numbers were measured on."""
    import os
    import platform

    info = {"threads": threads, "gemm_gmacs_per_s": rate / 1e9, "cpu": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "torch": torch.__version__}  # fmt: skip
    try:
        info["load_avg_1min"] = os.getloadavg()[0]
    except OSError:
        pass
    for mod in ("onnxruntime", "openvino"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            pass
    return info


def format_table(result: dict) -> str:
    """A markdown table of a :func:`run_bench` result."""
    m = result["machine"]
    lines = [f"GEMM floor rate: {m['gemm_gmacs_per_s']:.1f} GMAC/s fp32 on {m['threads']} threads "
             f"(load {m.get('load_avg_1min', float('nan')):.1f})", "",
             "| model | input | params | GMACs | backend | prec | pre ms | net ms | post ms | total ms | "
             "floor ms | net/floor | img/s @32 |", "|" + "---|" * 13]  # fmt: skip
    for r in result["rows"]:
        size = "x".join(map(str, r["input_size"]))
        if r["error"]:
            lines.append(f"| {r['model']} | {size} | | | {r['backend']} | {r['precision']} | error: {r['error']} |")
            continue
        lines.append(
            f"| {r['model']} | {size} | {r['params'] / 1e6:.2f}M | {r['macs'] / 1e9:.2f} | {r['backend']} | "
            f"{r['precision']} | {r['pre_ms']:.1f} | {r['net_ms']:.1f} | {r['post_ms']:.1f} | {r['total_ms']:.1f} | "
            f"{r['floor_ms']:.1f} | {r['floor_ratio']:.1f} | {r['throughput']:.1f} |"
        )
    return "\n".join(lines)


def plot(result: dict, path: str | Path) -> Path:
    """Network latency (batch 1) against MACs and against parameters, one colour per backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["rows"] if not r["error"]]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    groups = sorted({(r["backend"], r["precision"]) for r in rows})
    for ax, key, label in ((axes[0], "macs", "GMACs"), (axes[1], "params", "parameters (M)")):
        scale = 1e9 if key == "macs" else 1e6
        for g in groups:
            sel = [r for r in rows if (r["backend"], r["precision"]) == g]
            ax.scatter([r[key] / scale for r in sel], [r["net_ms"] for r in sel], label=f"{g[0]} {g[1]}", s=30)
        if groups:
            for r in [r for r in rows if (r["backend"], r["precision"]) == groups[0]]:
                ax.annotate(r["model"], (r[key] / scale, r["net_ms"]), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")  # fmt: skip
        if key == "macs" and rows:
            xs = np.linspace(0, max(r["macs"] for r in rows) / scale * 1.05, 50)
            rate = result["machine"]["gemm_gmacs_per_s"]
            ax.plot(xs, xs / rate * 1e3, "k--", lw=1, label=f"floor ({rate:.0f} GMAC/s GEMM)")
        ax.set_xlabel(label)
        ax.set_ylabel("network latency, batch 1 (ms)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"featherpose models, {result['machine']['threads']} threads, measured")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def save_json(result: dict, path: str | Path) -> Path:
    """Write a :func:`run_bench` result as JSON (NaN kept as null)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, default=str).replace("NaN", "null"))
    return path
