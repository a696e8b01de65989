"""COCO keypoint AP with pycocotools, without its console output, plus results-file helpers."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from featherpose.atomic import atomic_write
from featherpose.data.coco import read_json
from featherpose.data.errors import AnnotationError
from featherpose.skeletons import KEYPOINT_SETS, KeypointSet, keypoint_set_from_coco_category

METRICS = ("AP", "AP50", "AP75", "APm", "APl", "AR")
EXTRA_METRICS = ("AR50", "AR75", "ARm", "ARl")


class ResultsFileError(ValueError):
    """A malformed keypoint results file or list; the message names the file (or ``<results>``)."""

    def __init__(self, source: object, problem: str) -> None:
        super().__init__(f"results {source}: {problem}")
        self.source = source
        self.problem = problem


def _coco_from_dict(data: Mapping, source: object) -> COCO:
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise AnnotationError(source, f"missing or non-list {key!r}")
    coco = COCO()
    coco.dataset = copy.deepcopy(dict(data))
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            coco.createIndex()
        except (KeyError, TypeError) as err:
            raise AnnotationError(source, f"malformed entry ({type(err).__name__}: {err})") from None
    return coco


def load_coco(path: str | Path) -> COCO:
    """Load a COCO annotation file quietly; raises :class:`AnnotationError` naming the file if malformed."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict):
        raise AnnotationError(path, "top level must be an object")
    return _coco_from_dict(data, path)


def as_coco(gt: COCO | str | Path | Mapping) -> COCO:
    """A pycocotools COCO object from a COCO object, an annotation path, or an annotation dict."""
    if isinstance(gt, COCO):
        return gt
    if isinstance(gt, Mapping):
        return _coco_from_dict(gt, "<dict>")
    return load_coco(gt)


def _keypoint_category(coco: COCO) -> dict | None:
    return next((c for c in coco.dataset.get("categories", []) if "keypoints" in c), None)


def category_sigmas(coco: COCO) -> np.ndarray | None:
    """OKS sigmas for the keypoint category of ``coco``: its ``sigmas`` field, featherpose's defaults
    for non-COCO-17 sets, or ``None`` (pycocotools' COCO-17 sigmas)."""
    cat = _keypoint_category(coco)
    if cat is None or ("sigmas" not in cat and len(cat["keypoints"]) == 17):
        return None
    try:
        return np.asarray(keypoint_set_from_coco_category(cat).sigmas, np.float64)
    except ValueError:  # e.g. CrowdPose files carry COCO's skeleton: match by names
        known = [k for k in KEYPOINT_SETS.values() if list(k.keypoints) == list(cat["keypoints"])]
        return np.asarray(known[0].sigmas, np.float64) if known and known[0].sigmas else None


def validate_results(results: object, num_keypoints: int | None = None, source: object = "<results>") -> list[dict]:
    """Check a COCO keypoint results list; raises :class:`ResultsFileError` with a one-line reason."""
    if not isinstance(results, list):
        raise ResultsFileError(source, f"must be a list of result objects, got {type(results).__name__}")
    for i, r in enumerate(results):
        where = f"entry {i}"
        if not isinstance(r, Mapping):
            raise ResultsFileError(source, f"{where} is not an object")
        missing = [k for k in ("image_id", "category_id", "keypoints", "score") if k not in r]
        if missing:
            raise ResultsFileError(source, f"{where} is missing {', '.join(repr(m) for m in missing)}")
        kps = r["keypoints"]
        if isinstance(kps, np.ndarray) and kps.ndim == 1:
            kps = kps.tolist()
        if not isinstance(kps, Sequence) or isinstance(kps, str) or len(kps) == 0 or len(kps) % 3:
            raise ResultsFileError(source, f"{where}: 'keypoints' must be a flat [x, y, s] * K list")
        if num_keypoints is not None and len(kps) != 3 * num_keypoints:
            raise ResultsFileError(source, f"{where} has {len(kps) // 3} keypoints, expected {num_keypoints}")
        try:
            values = [float(v) for v in kps] + [float(r["score"])]
        except (TypeError, ValueError):
            raise ResultsFileError(source, f"{where} has non-numeric keypoints or score") from None
        if not all(math.isfinite(v) for v in values):
            raise ResultsFileError(source, f"{where} has a non-finite keypoint or score")
    return results


def save_results(path: str | Path, results: list[dict]) -> Path:
    """Write keypoint results (COCO results format) to ``path`` atomically (:func:`featherpose.atomic.atomic_write`)."""
    path = Path(path)
    validate_results(results, source=path)

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(results, f, default=_to_builtin)

    return atomic_write(path, write)


def _to_builtin(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def load_results(path: str | Path, num_keypoints: int | None = None) -> list[dict]:
    """Read and validate a keypoint results file; raises :class:`ResultsFileError` naming the file."""
    path = Path(path)
    return validate_results(read_json(path, ResultsFileError), num_keypoints, source=path)


def coco_keypoint_ap(
    gt: COCO | str | Path | Mapping,
    results: list[dict] | str | Path,
    sigmas: np.ndarray | KeypointSet | None = None,
) -> dict[str, float]:
    """Score keypoint ``results`` (COCO result format: image_id, category_id, keypoints, score)
    against ``gt`` (COCO object, annotation path or dict); returns AP, AP50, AP75, APm, APl, AR
    (plus AR50, AR75, ARm, ARl), 0.0 each when there are no results. ``results`` may be a path.

    OKS sigmas come from ``sigmas`` (array or :class:`KeypointSet`), else the category's ``sigmas``
    field (or, for non-COCO-17 sets, featherpose's defaults), else COCO's.
    """
    coco = as_coco(gt)
    cat = _keypoint_category(coco)
    k = len(cat["keypoints"]) if cat is not None else None
    if isinstance(results, (str, Path)):
        results = load_results(results, k)
    else:
        validate_results(results, k)
    if not results:
        return dict.fromkeys(METRICS + EXTRA_METRICS, 0.0)
    unknown = {r["image_id"] for r in results} - set(coco.getImgIds())
    if unknown:
        raise ResultsFileError("<results>", f"image_id {sorted(unknown)[0]} is not in the ground truth")
    if isinstance(sigmas, KeypointSet):
        sigmas = sigmas.sigmas_array()
    if sigmas is None:
        sigmas = category_sigmas(coco)
    if sigmas is not None and k is not None and len(sigmas) != k:
        raise ValueError(f"{len(sigmas)} OKS sigmas for {k} keypoints")
    with contextlib.redirect_stdout(io.StringIO()):
        dt = coco.loadRes(copy.deepcopy(results))
        ev = COCOeval(coco, dt, "keypoints")
        if sigmas is not None:
            ev.params.kpt_oks_sigmas = np.asarray(sigmas, np.float64)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {name: float(v) for name, v in zip(METRICS + EXTRA_METRICS, ev.stats, strict=True)}
