"""Model families. Importing this package registers every named model in the zoo."""

from featherpose.models.zoo import ModelSpec, build_model, get_spec, list_models, register

# Each family module registers its named models on import (one line per family).

__all__ = ["ModelSpec", "build_model", "get_spec", "list_models", "register"]
