"""Model families. Importing this package registers every named model in the zoo."""

import importlib

from featherpose.models.zoo import ModelSpec, build_model, get_spec, list_models, register

# Family modules register their named models on import; this order (by paper, each baseline before the
# network compared with it) is the order of `featherpose models`.
FAMILIES = (
    "lw_openpose",  # lw_openpose (baseline of paper 000)
    "ghostpose",  # ghostpose (000)
    "hrnet",  # hrnet_w32, hrnet_w32_mpii (baseline of 001 and 003)
    "gadnet",  # gadnet_w32, gadnet_w48 (001)
    "simplebaseline",  # simplebaseline_r50, mobilenetv2_deconv (baselines of 002)
    "mobileposenet",  # mobileposenet, mobileposenet_384 (002)
    "hr_litenet",  # hr_litenet (003)
    "litepose",  # litepose_xs, litepose_s (baseline of 004)
    "wlitepose",  # wlitepose_xs, wlitepose_s (004)
)
for _family in FAMILIES:
    importlib.import_module(f"featherpose.models.{_family}")

__all__ = ["FAMILIES", "ModelSpec", "build_model", "get_spec", "list_models", "register"]
