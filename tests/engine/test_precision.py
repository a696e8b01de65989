"""Training precision / memory format: the config option, its per-family CPU defaults, that the trainer
applies them, and that bf16 / channels_last runs still resume bit-exactly (tiny model, synthetic data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tiny_model import register_tiny, tiny_config

import featherpose.engine.trainer as trainer
from featherpose.engine.config import ConfigError, config_from_dict, load_config
from featherpose.engine.trainer import Precision, resolve_precision, train


@pytest.fixture(autouse=True)
def _tiny_model(one_thread: None) -> None:
    """The tiny test model registered, torch single-threaded (the shared ``one_thread`` fixture)."""
    register_tiny()


def _cfg(**overrides: object):
    return config_from_dict(tiny_config(**overrides))


def test_config_defaults_and_values(tmp_path: Path) -> None:
    cfg = _cfg()
    assert (cfg.precision, cfg.channels_last, cfg.amp) == ("auto", "auto", True)
    for value in ("fp32", "bf16", "fp16"):
        assert _cfg(precision=value).precision == value
    for value in (True, False, "auto"):
        assert _cfg(channels_last=value).channels_last == value
    p = tmp_path / "c.yaml"
    p.write_text("model: {name: m}\nprecision: bf16\nchannels_last: false\n")
    cfg = load_config(p)
    assert (cfg.precision, cfg.channels_last) == ("bf16", False)


@pytest.mark.parametrize(("override", "message"), [
    ({"precision": "fp8"}, "key 'precision': 'fp8' is not one of auto, fp32, bf16, fp16"),
    ({"precision": True}, "key 'precision': expected a string"),
    ({"channels_last": "yes"}, "key 'channels_last': 'yes' is not one of true, false, auto"),
    ({"channels_last": 1}, "key 'channels_last': expected true/false"),
    ({"amp": False, "precision": "bf16"}, "key 'precision': bf16 needs 'amp: true'"),
])  # fmt: skip
def test_config_rejects_bad_values(override: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _cfg(**override)


def _resolved(name: str, device: str = "cpu", **kw: object) -> Precision:
    return resolve_precision(config_from_dict({"model": {"name": name}, **kw}), device)


def test_auto_picks_per_family_on_cpu_and_keeps_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trainer, "cpu_has_native_bf16", lambda: True)
    assert _resolved("mobileposenet") == Precision("fp32", True, "cpu")
    assert _resolved("litepose_xs") == Precision("fp32", True, "cpu")
    assert _resolved("wlitepose_s") == Precision("fp32", True, "cpu")
    for name in ("ghostpose", "lw_openpose", "hrnet_w32", "gadnet_w32", "simplebaseline_r50", "mobilenetv2_deconv"):
        assert _resolved(name) == Precision("bf16", True, "cpu"), name
    assert _resolved("hr_litenet") == Precision("bf16", False, "cpu")
    assert _resolved("tiny_test_net") == Precision("fp32", False, "cpu")  # unlisted family: fp32 contiguous
    assert _resolved("ghostpose", amp=False) == Precision("fp32", True, "cpu")
    assert _resolved("mobileposenet", precision="bf16", channels_last=False) == Precision("bf16", False, "cpu")
    for name in ("mobileposenet", "ghostpose", "tiny_test_net"):  # CUDA: fp16 AMP + channels_last, as before
        assert _resolved(name, "cuda") == Precision("fp16", True, "cuda")
    assert _resolved("ghostpose", "cuda", amp=False, channels_last=False) == Precision("fp32", False, "cuda")
    with pytest.raises(ValueError, match="fp16 needs CUDA"):
        _resolved("mobileposenet", precision="fp16")


def test_auto_keeps_fp32_on_a_cpu_without_bf16_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(trainer.cpu_has_native_bf16(), bool)
    monkeypatch.setattr(trainer, "cpu_has_native_bf16", lambda: False)
    assert _resolved("ghostpose") == Precision("fp32", True, "cpu")
    assert _resolved("hr_litenet") == Precision("fp32", False, "cpu")
    assert _resolved("ghostpose", precision="bf16") == Precision("bf16", True, "cpu")  # asked for: done


def _channels_last(t: torch.Tensor) -> bool:
    return t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Record, for every training step: the first conv's output dtype and format, the image's and the
    conv weight's format (the real ``train_step`` runs, through the trainer's own call)."""
    seen: list[tuple] = []
    step = trainer.train_step

    def spying_step(net: torch.nn.Module, batch: dict, *args: object) -> object:
        conv = net.body[0]

        def hook(module: torch.nn.Module, inputs: tuple, out: torch.Tensor) -> None:
            seen.append((out.dtype, _channels_last(out), _channels_last(batch["image"]), _channels_last(conv.weight)))

        handle = conv.register_forward_hook(hook)
        try:
            return step(net, batch, *args)
        finally:
            handle.remove()

    monkeypatch.setattr(trainer, "train_step", spying_step)
    return seen


def test_trainer_applies_auto_choice_of_the_family(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _spy(monkeypatch)
    train(_cfg(epochs=1), tmp_path / "default", progress=False)
    assert seen == [(torch.float32, False, False, False)] * 3
    seen.clear()
    monkeypatch.setitem(trainer.CPU_AUTO, "test", ("bf16", True))  # as if the tiny net were a listed family
    train(_cfg(epochs=1), tmp_path / "auto", progress=False)
    assert seen == [(torch.bfloat16, True, True, True)] * 3
    end = json.loads((tmp_path / "auto" / "metrics.jsonl").read_text().splitlines()[-1])
    assert (end["type"], end["precision"], end["channels_last"]) == ("end", "bf16", True)


def test_trainer_applies_explicit_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _spy(monkeypatch)
    train(_cfg(epochs=1, precision="bf16", channels_last=False), tmp_path / "a", progress=False)
    assert seen == [(torch.bfloat16, False, False, False)] * 3
    seen.clear()
    train(_cfg(epochs=1, precision="fp32", channels_last=True), tmp_path / "b", progress=False)
    assert seen == [(torch.float32, True, True, True)] * 3


@pytest.mark.parametrize(("precision", "channels_last"), [("bf16", False), ("bf16", True), ("fp32", True)])
def test_resume_is_bit_identical_in_bf16_and_channels_last(tmp_path: Path, precision: str, channels_last: bool) -> None:
    cfg = _cfg(precision=precision, channels_last=channels_last)
    train(cfg, tmp_path / "full", progress=False)
    train(cfg, tmp_path / "part", max_steps=4, progress=False)
    train(cfg, tmp_path / "part", resume=True, progress=False)
    a, b = (load_file(str(tmp_path / run / "last.safetensors")) for run in ("full", "part"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    fp32 = train(_cfg(precision="fp32", channels_last=False), tmp_path / "fp32", progress=False)
    ref = load_file(str(fp32.out_dir / "last.safetensors"))
    if precision == "bf16":  # the setting really changed the arithmetic
        assert not torch.equal(ref["body.0.weight"], a["body.0.weight"])
