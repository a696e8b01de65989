"""Loading trained weights for inference. The one home of weights-file IO is
:mod:`featherpose.engine.checkpoint` (a safetensors file, or a training directory holding
``last.safetensors``; a file written by featherpose describes itself with a
:class:`~featherpose.modelfile.ModelMeta`); this module keeps the old import path."""

from featherpose.engine.checkpoint import (
    WEIGHTS_SUFFIX,
    CheckpointError,
    is_weights_file,
    load_model,
    load_weights,
    require_meta,
    resolve_weights,
    weights_meta,
)

__all__ = [
    "WEIGHTS_SUFFIX",
    "CheckpointError",
    "is_weights_file",
    "load_model",
    "load_weights",
    "require_meta",
    "resolve_weights",
    "weights_meta",
]
