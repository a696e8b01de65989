"""Building blocks shared by the model families."""

from featherpose.nn.attention import CBAM, ChannelAttention, DFCAttention, SpatialAttention, SqueezeExcite
from featherpose.nn.conv import ConvBNAct, DepthwiseSeparable, make_activation, make_divisible
from featherpose.nn.ghost import GhostBottleneck, GhostModule
from featherpose.nn.inverted_residual import InvertedResidual
from featherpose.nn.upsample import DepthwiseDeconvUp

__all__ = [
    "CBAM",
    "ChannelAttention",
    "ConvBNAct",
    "DFCAttention",
    "DepthwiseDeconvUp",
    "DepthwiseSeparable",
    "GhostBottleneck",
    "GhostModule",
    "InvertedResidual",
    "SpatialAttention",
    "SqueezeExcite",
    "make_activation",
    "make_divisible",
]
