"""Parameters and MACs of the MobileNet / ResNet top-down models and of the candidate readings of
MobilePoseNet, under three counting conventions (the numbers in docs/models/mobile_family.md).

- ``ours``: ``featherpose.complexity`` (conv + matmul MACs, transposed convs over output pixels);
- ``torch``: plain ``FlopCounterMode`` (transposed convs over input pixels);
- ``mmcv``: an mmcv-style count (convs + bias adds, transposed convs over input pixels, BN = 2 per
  element, ReLU / pooling = 1 per element, h-swish not counted), printed divided by 2**30 as the
  paper's baseline figures (MobileNetV2 1.48 / 3.33) turn out to be.

Run: ``.venv/bin/python benchmarks/mobile_family_complexity.py``
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from featherpose.complexity import complexity
from featherpose.models.deconv_head import DeconvHead
from featherpose.models.encoder_decoder import EncoderDecoder
from featherpose.models.mobileposenet import BNECKS, TABLE1, MobileNetV3Encoder, mobileposenet
from featherpose.models.simplebaseline import simplebaseline


def torch_macs(model: nn.Module, hw: tuple[int, int]) -> int:
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, *hw))
    return counter.get_total_flops() // 2


def mmcv_style(model: nn.Module, hw: tuple[int, int]) -> int:
    total = 0

    def hook(m: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        x = inp[0]
        if isinstance(m, nn.ConvTranspose2d):
            kh, kw = m.kernel_size
            total += x.shape[2] * x.shape[3] * m.in_channels * m.out_channels // m.groups * kh * kw
        elif isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            total += out.numel() * m.in_channels // m.groups * kh * kw
        elif isinstance(m, nn.BatchNorm2d):
            total += 2 * x.numel()
        elif isinstance(m, (nn.ReLU, nn.ReLU6, nn.AdaptiveAvgPool2d, nn.MaxPool2d)):
            total += out.numel()
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.bias is not None:
            total += out.numel()

    hooks = [m.register_forward_hook(hook) for m in model.modules()]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, *hw))
    for h in hooks:
        h.remove()
    return total


def table6_variant(bnecks, se_position: str, c5: bool) -> EncoderDecoder:
    """Table 6 ablations: V1 = the full MobileNetV3 encoder to C5 (row 13 stride 2) + three 160-channel
    deconvs; V2 = the Table 1 encoder (C4) + two of those deconvs."""
    rows = list(bnecks)
    if c5:
        rows[12] = rows[12][:5] + (2,)  # MobileNetV3's stride 2: the full encoder down to C5
    encoder = MobileNetV3Encoder(rows, se_position, output_stride=32 if c5 else 16)
    head = DeconvHead(160, 17, num_deconv=3 if c5 else 2, channels=160)
    return EncoderDecoder(encoder, head, stride=32 if c5 else 16, num_keypoints=17)


def row(name: str, model: nn.Module, hw: tuple[int, int], paper: str) -> None:
    c = complexity(model, hw)
    print(
        f"| {name} | {hw[0]}x{hw[1]} | {paper} | {c.params / 1e6:.3f}M | {c.macs / 1e9:.3f} | "
        f"{torch_macs(model, hw) / 1e9:.3f} | {mmcv_style(model, hw) / 2**30:.3f} |"
    )


def main() -> None:
    torch.set_num_threads(2)
    print("| model | input | paper | params | ours GMACs | torch GMACs | mmcv-style / 2^30 |")
    print("|---|---|---|---|---|---|---|")
    for hw, paper in (((256, 192), "1.5M / 0.55"), ((384, 288), "1.5M / 1.23")):
        row("mobileposenet (default)", mobileposenet(), hw, paper)
        row("  Table 1 exp 960, SE after project", mobileposenet(bnecks=TABLE1), hw, paper)
        row("  Table 1, SE on expansion (MobileNetV3 paper)", mobileposenet(bnecks=TABLE1, se_position="expand"),
            hw, paper)  # fmt: skip
        row("  first 13 bnecks, SE on expansion", mobileposenet(bnecks=TABLE1[:13], se_position="expand"), hw, paper)
        row("  stem + 12 bnecks (to 112 ch), SE on expansion",
            mobileposenet(bnecks=TABLE1[:12], se_position="expand"), hw, paper)  # fmt: skip
    for hw, v1, v2 in (((256, 192), "2.5M / 0.604", "2.1M / 0.684"), ((384, 288), "2.5M / 1.33", "2.1M / 1.5")):
        for label, table in (("672", BNECKS), ("960", TABLE1)):
            row(f"Table 6 V1 (row 14 exp {label})", table6_variant(table, "output", c5=True), hw, v1)
            row(f"Table 6 V2 (row 14 exp {label})", table6_variant(table, "output", c5=False), hw, v2)
        row("Table 6 V1, SE on expansion", table6_variant(TABLE1, "expand", c5=True), hw, v1)
    for name, hw, paper in (
        ("resnet50", (256, 192), "34.0M / 8.9"),
        ("mobilenetv2", (256, 192), "9.6M / 1.48"),
        ("mobilenetv2", (384, 288), "9.6M / 3.33"),
    ):
        row(f"simplebaseline({name})", simplebaseline(name), hw, paper)


if __name__ == "__main__":
    main()
