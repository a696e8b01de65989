"""Per-group learning rates and weight decay from recipe rules (``optimizer.param_groups``).

Lightweight OpenPose's reference trainer gives biases twice the base rate, the refinement stages four
(weights) and eight (biases) times, and no weight decay to biases, batch-norm parameters and depthwise
weights. A rule names a parameter ``kind`` and optionally a ``module`` (parameter-name prefix); the first
matching rule sets the group's ``lr_mult`` (x base rate) and ``weight_decay``; unmatched parameters keep
the optimiser's defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from torch import nn

KINDS = ("conv_weight", "depthwise_weight", "conv_bias", "bn_weight", "bn_bias")
RULE_KEYS = ("kind", "module", "lr_mult", "weight_decay")


def check_rules(rules: Sequence[dict], error: type[Exception] = ValueError) -> None:
    """Raise ``error`` with one line naming the bad rule key or value."""
    for i, rule in enumerate(rules):
        where = f"optimizer.param_groups[{i}]"
        if not isinstance(rule, dict):
            raise error(f"key {where!r}: expected a mapping, got {rule!r}")
        unknown = sorted(set(rule) - set(RULE_KEYS))
        if unknown:
            raise error(f"unknown key {where}.{unknown[0]!r} (known here: {', '.join(RULE_KEYS)})")
        if rule.get("kind") not in KINDS:
            raise error(f"key '{where}.kind': {rule.get('kind')!r} is not one of {', '.join(KINDS)}")
        for key in ("lr_mult", "weight_decay"):
            value = rule.get(key, 0.0)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise error(f"key '{where}.{key}': expected a number >= 0, got {value!r}")
        if not isinstance(rule.get("module", ""), str):
            raise error(f"key '{where}.module': expected a string, got {rule['module']!r}")


def parameter_kinds(model: nn.Module) -> Iterable[tuple[str, str | None, nn.Parameter]]:
    """(name, kind, parameter) for every trainable parameter; kind None for other layer types."""
    for mod_name, module in model.named_modules():
        for p_name, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            kind = None
            if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
                depthwise = module.groups > 1 and module.groups == module.in_channels
                kind = "conv_bias" if p_name == "bias" else ("depthwise_weight" if depthwise else "conv_weight")
            elif isinstance(module, nn.modules.batchnorm._BatchNorm):
                kind = f"bn_{p_name}"
            yield f"{mod_name}.{p_name}" if mod_name else p_name, kind, p


def param_groups(model: nn.Module, rules: Sequence[dict], lr: float, weight_decay: float) -> list[dict]:
    """Torch optimiser groups following ``rules``; one group per distinct (lr, weight decay)."""
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    for name, kind, p in parameter_kinds(model):
        key = (lr, weight_decay)
        for rule in rules:
            if rule["kind"] == kind and name.startswith(rule.get("module", "")):
                key = (lr * float(rule.get("lr_mult", 1.0)), float(rule.get("weight_decay", weight_decay)))
                break
        groups.setdefault(key, []).append(p)
    return [{"params": ps, "lr": g_lr, "weight_decay": wd} for (g_lr, wd), ps in groups.items()]
