"""What the ``model`` argument of :class:`~.estimator.PoseEstimator` names, resolved once: an in-memory
network, an exported / external model file, a self-describing weights file, or a registered name (with
its shipped weights, or its shipped INT8 IR when ``backend`` and ``precision`` are ``"auto"`` and OpenVINO
runs on the CPU; see :mod:`featherpose.pretrained`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from featherpose import pretrained
from featherpose.engine.checkpoint import is_weights_file, require_meta, resolve_weights, weights_meta
from featherpose.modelfile import ModelMeta
from featherpose.models import get_spec, list_models

from .external import ExternalModel, is_model_file, load_external


@dataclass
class ModelSource:
    """One of: ``module`` (in memory, described by ``meta``), ``external`` (a model file that carries its
    runner), or a network to build from ``meta`` / the registered name with ``weights`` (None: random)."""

    meta: ModelMeta | None = None
    module: nn.Module | None = None
    external: ExternalModel | None = None
    weights: Path | None = None


def resolve_model(
    model: str | Path | nn.Module | None, weights: str | Path | None, *, meta: ModelMeta | None, backend: object,
    precision: str, device: str, input_size: object, codec: str | None, overrides: dict | None, contract: object,
) -> ModelSource:  # fmt: skip
    """What ``model`` (and ``weights``) name, with the file's or network's :class:`ModelMeta`; an unknown
    name or a file of the wrong kind raises ``ValueError`` (or the checkpoint / input errors) in one line."""
    if meta is not None and not isinstance(model, str | Path):  # an in-memory network (from_module)
        if weights is not None:
            raise ValueError("an in-memory network holds its weights; do not pass weights")
        if model is None and isinstance(backend, str):
            raise ValueError("without a network, backend must be a ready runner object")
        return ModelSource(meta=meta, module=model)
    if model is None or isinstance(model, nn.Module):
        raise ValueError("an in-memory network needs its ModelMeta (use PoseEstimator.from_module)")
    if is_model_file(model):
        if weights is not None:
            raise ValueError(f"{model}: a model file holds its weights; do not pass weights")
        external = load_external(model, backend, precision, device, input_size, contract)  # type: ignore[arg-type]
        return ModelSource(meta=external.meta, external=external)
    if is_weights_file(model) and str(model) not in list_models():
        if weights is not None:
            raise ValueError(f"{model}: a weights file holds its weights; do not pass weights")
        path = resolve_weights(model)
        return ModelSource(meta=require_meta(path), weights=path)
    int8 = shipped_int8_for(str(model), weights, backend, precision, device, input_size, codec, overrides, contract)
    if int8 is not None:
        external = load_external(int8, "openvino", "int8", device)
        return ModelSource(meta=external.meta, external=external)
    get_spec(str(model))  # an unknown name fails here, before any file is read
    found = pretrained.resolve(str(model), weights)
    path = resolve_weights(found) if found is not None else None
    return ModelSource(meta=weights_meta(path, str(model)) if path is not None else None, weights=path)


def shipped_int8_for(model: str, weights: object, backend: object, precision: str, device: str, input_size: object,
                     codec: object, overrides: object, contract: object) -> Path | None:  # fmt: skip
    """The shipped INT8 IR that ``backend="auto"`` / ``precision="auto"`` runs a shipped model from, or
    None: anything asked for explicitly (backend, precision, input size, codec, a weights file) keeps the
    float network."""
    if (backend != "auto" or precision != "auto" or input_size is not None or codec is not None or overrides
            or contract is not None or model not in pretrained.PRETRAINED_INT8):  # fmt: skip
        return None
    from featherpose.deploy.backends import auto_backend

    if auto_backend(device) != "openvino":
        return None
    return pretrained.shipped_int8(model, weights if weights is None or isinstance(weights, str) else "")
