"""SimpleBaseline (Xiao et al. 2018): a classification backbone + 3 deconvs (256 ch, 4x4, stride 2) + 1x1.

Named models (figures as paper 002 prints them, Tables 2 and 5; see docs/models/mobile_family.md):

| name               | backbone           | input   | params | "GFLOPs" |
|--------------------|--------------------|---------|--------|----------|
| simplebaseline_r50 | ResNet-50 (2048)   | 256x192 | 34.0M  | 8.9      |
| mobilenetv2_deconv | MobileNetV2 (1280) | 256x192 | 9.6M   | 1.48     |
"""

from __future__ import annotations

from featherpose.models.deconv_head import DeconvHead
from featherpose.models.encoder_decoder import EncoderDecoder
from featherpose.models.mobilenetv2 import MobileNetV2
from featherpose.models.resnet import resnet50
from featherpose.models.zoo import ModelSpec, paper_gmacs, register

BACKBONES = {"resnet50": resnet50, "mobilenetv2": MobileNetV2}


def simplebaseline(
    backbone: str = "resnet50",
    num_keypoints: int = 17,
    num_deconv: int = 3,
    deconv_channels: int = 256,
    deconv_kernel: int = 4,
) -> EncoderDecoder:
    """Backbone (output stride 32) + :class:`DeconvHead`: heatmaps at 1/4 of the input."""
    try:
        encoder = BACKBONES[backbone]()
    except KeyError:
        raise ValueError(f"unknown backbone {backbone!r}; known: {', '.join(BACKBONES)}") from None
    head = DeconvHead(encoder.out_channels, num_keypoints, num_deconv, deconv_channels, deconv_kernel)
    return EncoderDecoder(encoder, head, stride=encoder.stride, num_keypoints=num_keypoints)


register(
    ModelSpec(
        name="simplebaseline_r50",
        family="simplebaseline",
        paradigm="top-down",
        keypoints="coco17",
        input_size=(256, 192),
        builder=simplebaseline,
        paper="002 (MobilePoseNet) Tables 2 and 5, baseline row; Xiao et al. 2018",
        paper_params=34.0e6,
        paper_macs=paper_gmacs(8.9, "2^30"),
        paper_unit="2^30",
        defaults={"backbone": "resnet50"},
        notes=(
            "8.9 'GFLOPs' ~ 9.65e9 MACs (deconvs over output pixels) / 2**30 = 8.99, the HRNet-repo counter; "
            "inputs must be multiples of 32."
        ),
    )
)

register(
    ModelSpec(
        name="mobilenetv2_deconv",
        family="simplebaseline",
        paradigm="top-down",
        keypoints="coco17",
        input_size=(256, 192),
        builder=simplebaseline,
        paper="002 (MobilePoseNet) Tables 2 and 5, 'MobileNetV2 1x' row",
        paper_params=9.6e6,
        paper_macs=paper_gmacs(1.48, "2^30"),
        paper_unit="2^30",
        defaults={"backbone": "mobilenetv2"},
        notes=(
            "1.48 'GFLOPs' = mmcv-style count (transposed convs over input pixels, BN and ReLU counted) / 2**30; "
            "our convention gives 5.34e9 MACs; inputs must be multiples of 32."
        ),
    )
)
