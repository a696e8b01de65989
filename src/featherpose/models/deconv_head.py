"""SimpleBaseline's heatmap head: stride-2 transposed convs (each + BN + ReLU), then a 1x1 conv."""

from __future__ import annotations

from torch import nn

from featherpose.models.weight_init import init_head


class DeconvHead(nn.Sequential):
    """``num_deconv`` x [``k x k`` stride-2 transposed conv (no bias) -> BN -> ReLU] -> 1x1 conv to
    ``num_keypoints`` heatmaps (with bias). Each transposed conv doubles H and W.

    SimpleBaseline (Xiao et al. 2018): 3 deconvs of 256 channels, kernel 4, padding 1.
    """

    def __init__(
        self,
        in_ch: int,
        num_keypoints: int,
        num_deconv: int = 3,
        channels: int = 256,
        kernel_size: int = 4,
    ) -> None:
        padding = {4: 1, 3: 1, 2: 0}[kernel_size]
        output_padding = {4: 0, 3: 1, 2: 0}[kernel_size]
        layers: list[nn.Module] = []
        for _ in range(num_deconv):
            layers += [
                nn.ConvTranspose2d(in_ch, channels, kernel_size, 2, padding, output_padding, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            ]
            in_ch = channels
        layers.append(nn.Conv2d(in_ch, num_keypoints, 1))
        super().__init__(*layers)
        init_head(self)
