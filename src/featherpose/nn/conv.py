"""Convolution + batch-norm + activation, and the depthwise-separable pair."""

from __future__ import annotations

from torch import nn


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never dropping below 90% of it
    (the rounding MobileNet and GhostNet use for channel counts)."""
    min_value = min_value or divisor
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def make_activation(name: str | None) -> nn.Module:
    """An activation by name: relu, relu6, hswish, hsigmoid, sigmoid, gelu, prelu, silu, or None."""
    if name is None or name == "none":
        return nn.Identity()
    table = {
        "relu": lambda: nn.ReLU(inplace=True),
        "relu6": lambda: nn.ReLU6(inplace=True),
        "hswish": lambda: nn.Hardswish(inplace=True),
        "hsigmoid": lambda: nn.Hardsigmoid(inplace=True),
        "sigmoid": nn.Sigmoid,
        "gelu": nn.GELU,
        "prelu": nn.PReLU,
        "silu": lambda: nn.SiLU(inplace=True),
        "elu": lambda: nn.ELU(inplace=True),
    }
    try:
        return table[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(table)}") from None


class ConvBNAct(nn.Sequential):
    """``Conv2d(bias=False) -> BatchNorm2d -> activation`` with 'same' padding for odd kernels.

    ``bn=False`` gives a biased convolution followed by the activation.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int | tuple[int, int] = 3,
        stride: int = 1,
        groups: int = 1,
        act: str | None = "relu",
        dilation: int = 1,
        bn: bool = True,
    ) -> None:
        ks = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        padding = (ks[0] // 2 * dilation, ks[1] // 2 * dilation)
        layers: list[nn.Module] = [
            nn.Conv2d(in_ch, out_ch, ks, stride, padding, dilation=dilation, groups=groups, bias=not bn)
        ]
        if bn:
            layers.append(nn.BatchNorm2d(out_ch))
        layers.append(make_activation(act))
        super().__init__(*layers)
        self.in_channels, self.out_channels = in_ch, out_ch


class DepthwiseSeparable(nn.Sequential):
    """Depthwise ``k x k`` conv-BN-act followed by a pointwise ``1 x 1`` conv-BN-act."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int = 3,
        stride: int = 1,
        act: str | None = "relu",
        dw_act: str | None = "same",
        dilation: int = 1,
    ) -> None:
        super().__init__(
            ConvBNAct(in_ch, in_ch, kernel_size, stride, groups=in_ch, dilation=dilation,
                      act=act if dw_act == "same" else dw_act),
            ConvBNAct(in_ch, out_ch, 1, act=act),
        )  # fmt: skip
        self.in_channels, self.out_channels = in_ch, out_ch
