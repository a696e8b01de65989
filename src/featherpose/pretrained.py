"""featherpose's own trained weights, shipped inside the package (``featherpose/weights/*.safetensors``,
fp16, self-describing; model cards in ``docs/pretrained.md``).

A model with shipped weights uses them when no weights are given; ``weights="lspet"`` (a tag) picks one
by name. :data:`DEFAULT_MODEL` is what ``featherpose infer`` runs without ``--model``, and
:data:`DEFAULT_DETECTOR` gives top-down models their person boxes.

Each shipped weights file also ships as an INT8 OpenVINO IR (``*-int8.xml`` / ``.bin``: ``featherpose
export --int8`` of the same weights, calibrated on 32 LSPET train images): with ``backend="auto"`` and
``precision="auto"`` on a CPU with OpenVINO, the shipped model runs from it (2x faster end to end, LSPET
PCK@0.2 -0.013; docs/pretrained.md, docs/benchmarks.md). Any explicit backend or precision, an input size
or a weights file runs the float network instead.
"""

from __future__ import annotations

from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

# model name -> {tag: file name in WEIGHTS_DIR}; the first tag is the model's default.
PRETRAINED: dict[str, dict[str, str]] = {
    "mobileposenet": {"lspet": "mobileposenet-lspet.safetensors"},
    "ghostpose": {"lspet": "ghostpose-lspet.safetensors"},
}
# model name -> {tag: INT8 OpenVINO IR of those weights in WEIGHTS_DIR}
PRETRAINED_INT8: dict[str, dict[str, str]] = {
    "mobileposenet": {"lspet": "mobileposenet-lspet-int8.xml"},
    "ghostpose": {"lspet": "ghostpose-lspet-int8.xml"},
}
DEFAULT_MODEL = "mobileposenet"
DEFAULT_DETECTOR = "ghostpose"


def available(model: str) -> dict[str, Path]:
    """Tag -> file of the shipped weights of ``model`` that are present in this installation."""
    return {tag: WEIGHTS_DIR / f for tag, f in PRETRAINED.get(model, {}).items() if (WEIGHTS_DIR / f).is_file()}


def has_weights(model: str) -> bool:
    """Does ``model`` ship trained weights?"""
    return bool(available(model))


def shipped(model: str, tag: str | None = None) -> Path | None:
    """The shipped weights file of ``model`` (its default tag, or ``tag``); None when it has none.

    An unknown tag raises ``ValueError`` naming the tags there are."""
    files = available(model)
    if tag is None:
        return next(iter(files.values()), None)
    if tag not in files:
        known = ", ".join(files) or "none"
        raise ValueError(f"model {model!r} has no shipped weights {tag!r} (shipped: {known})")
    return files[tag]


def resolve(model: str, weights: str | Path | None) -> Path | None:
    """What ``weights`` means for ``model``: None -> the shipped default (or None), a shipped tag ->
    its file, anything else -> a path."""
    if weights is None:
        return shipped(model)
    if isinstance(weights, str) and weights in PRETRAINED.get(model, {}):
        return shipped(model, weights)
    return Path(weights)


def shipped_int8(model: str, weights: str | Path | None = None) -> Path | None:
    """The shipped INT8 IR of ``model``'s shipped weights (``weights``: None for the default tag, or a tag);
    None when there is none, or when ``weights`` names anything else (a file of one's own)."""
    tags = PRETRAINED_INT8.get(model, {})
    if weights is None:
        tag = next(iter(PRETRAINED.get(model, {})), None)
    elif isinstance(weights, str) and weights in tags:
        tag = weights
    else:
        return None
    name = tags.get(tag) if tag is not None else None
    if name is None or not (WEIGHTS_DIR / name).is_file() or not (WEIGHTS_DIR / name).with_suffix(".bin").is_file():
        return None
    return WEIGHTS_DIR / name
