"""Building blocks shared by the model families (paper-specific ones carry their paper's names)."""

from featherpose.nn.attention import CBAM, ChannelAttention, DFCAttention, SpatialAttention, SqueezeExcite
from featherpose.nn.conv import ConvBNAct, DepthwiseSeparable, make_activation, make_divisible
from featherpose.nn.dfc_bottleneck import DFCBottleneck
from featherpose.nn.gadnet_blocks import GaBlock, GdBlock, GDModule
from featherpose.nn.ghost import GhostBottleneck, GhostModule
from featherpose.nn.inverted_residual import InvertedResidual
from featherpose.nn.lightweight_deconv import LightweightDeconvModule, LightweightResidual, channel_shuffle
from featherpose.nn.litenet_blocks import LBasic, LBlock
from featherpose.nn.lpb import LightweightUpsample
from featherpose.nn.residual import BasicBlock, Bottleneck
from featherpose.nn.upsample import DepthwiseDeconvUp

__all__ = [
    "CBAM",
    "BasicBlock",
    "Bottleneck",
    "ChannelAttention",
    "ConvBNAct",
    "DFCAttention",
    "DFCBottleneck",
    "DepthwiseDeconvUp",
    "DepthwiseSeparable",
    "GDModule",
    "GaBlock",
    "GdBlock",
    "GhostBottleneck",
    "GhostModule",
    "InvertedResidual",
    "LBasic",
    "LBlock",
    "LightweightDeconvModule",
    "LightweightResidual",
    "LightweightUpsample",
    "SpatialAttention",
    "SqueezeExcite",
    "channel_shuffle",
    "make_activation",
    "make_divisible",
]
