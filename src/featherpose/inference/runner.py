"""The backend hook of the estimator; it lives in :mod:`featherpose.deploy.runners`. This module
keeps the old import path."""

from featherpose.deploy.runners import (  # noqa: F401 (re-export)
    RUNNERS,
    Runner,
    TorchRunner,
    flatten_outputs,
    make_runner,
    register_runner,
)
