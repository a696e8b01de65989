"""Model families. Importing this package registers every named model in the zoo."""

# Each family module registers its named models on import (one line per family).
from featherpose.models import (
    gadnet,  # noqa: F401,E402  (gadnet_w32, gadnet_w48)
    ghostpose,  # noqa: F401,E402  (ghostpose)
    hr_litenet,  # noqa: F401,E402  (hr_litenet)
    hrnet,  # noqa: F401,E402  (hrnet_w32, hrnet_w32_mpii)
    litepose,  # noqa: F401,E402  (litepose_xs, litepose_s)
    lw_openpose,  # noqa: F401,E402  (lw_openpose)
    mobileposenet,  # noqa: F401,E402  (mobileposenet, mobileposenet_384)
    simplebaseline,  # noqa: F401,E402  (simplebaseline_r50, mobilenetv2_deconv)
    wlitepose,  # noqa: F401,E402  (wlitepose_xs, wlitepose_s)
)
from featherpose.models.zoo import ModelSpec, build_model, get_spec, list_models, register

__all__ = ["ModelSpec", "build_model", "get_spec", "list_models", "register"]
