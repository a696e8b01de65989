"""Training engine: configs, the trainer, checkpoints, distributed setup and evaluation."""

from featherpose.engine.checkpoint import CheckpointError, load_weights, save_weights
from featherpose.engine.config import ConfigError, TrainConfig, load_config

__all__ = ["CheckpointError", "ConfigError", "TrainConfig", "load_config", "load_weights", "save_weights"]
