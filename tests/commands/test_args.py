"""The one list syntax and the one input-size parser shared by the ``featherpose`` commands."""

from __future__ import annotations

import argparse
import json

import pytest

from featherpose.cli import build_parser, main
from featherpose.commands.args import add_list_argument, floats_arg, list_arg, size_arg


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="t", exit_on_error=False)
    add_list_argument(p, "--names")
    add_list_argument(p, "--scales", item=float)
    add_list_argument(p, "--kinds", choices=("a", "b"))
    p.add_argument("--size", type=size_arg)
    return p


@pytest.mark.parametrize(
    "argv", [["--names", "a,b,c"], ["--names", "a", "b", "c"], ["--names", "a,b", "c"], ["--names", "a, b", "c"],
             ["--names", "a", "--names", "b,c"]],
)  # fmt: skip
def test_list_forms_are_equivalent(argv):
    assert _parser().parse_args(argv).names == ["a", "b", "c"]


def test_list_items_are_converted_and_checked():
    args = _parser().parse_args(["--scales", "1,0.75", "0.5", "--kinds", "b"])
    assert args.scales == [1.0, 0.75, 0.5] and args.kinds == ["b"] and args.names is None
    assert floats_arg("2, 0.5") == [2.0, 0.5] and list_arg("x") == ["x"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--scales", "1,x"], "argument --scales: 'x' is not a valid float"),
     (["--kinds", "a,c"], "argument --kinds: 'c' is not one of a, b"),
     (["--names", "a,,b"], "argument --names: 'a,,b': empty item"),
     (["--size", "0x3"], "argument --size: '0x3': input size must be H or HxW with positive numbers"),
     (["--size", "256x"], "argument --size: '256x': input size must be H or HxW")],
)  # fmt: skip
def test_bad_values_are_one_clear_error(argv, message):
    with pytest.raises(argparse.ArgumentError) as exc:
        _parser().parse_args(argv)
    assert str(exc.value).startswith(message) and "\n" not in str(exc.value)


def test_size_forms():
    assert size_arg("256") == 256  # the height; the width follows the model's aspect ratio
    assert size_arg("256x192") == (256, 192) and size_arg("256X192") == (256, 192) and size_arg(" 64x48 ") == (64, 48)
    with pytest.raises(argparse.ArgumentTypeError, match="'-5'"):
        size_arg("-5")
    with pytest.raises(argparse.ArgumentTypeError, match="'big'"):
        floats_arg("big")


@pytest.mark.parametrize("command", ["bench", "demo"])
@pytest.mark.parametrize("models", [["mobileposenet,litepose_xs"], ["mobileposenet", "litepose_xs"]])
def test_models_option_takes_both_forms_in_every_command(command, models):
    args = build_parser().parse_args([command, "--models", *models])
    assert args.models == ["mobileposenet", "litepose_xs"]


@pytest.mark.parametrize("command", [["export", "--model", "m", "--out", "m.onnx"], ["label", "x.jpg", "--model", "m",
                                     "--out", "o.json"], ["codec-check"]])  # fmt: skip
def test_input_size_is_parsed_alike_in_every_command(command, capsys):
    parser = build_parser()
    assert parser.parse_args([*command, "--input-size", "256x192"]).input_size == (256, 192)
    assert parser.parse_args([*command, "--input-size", "256"]).input_size == 256
    with pytest.raises(SystemExit) as exc:
        parser.parse_args([*command, "--input-size", "256x0"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("error: argument --input-size: '256x0': input size must be H or HxW with positive numbers")


def test_codec_check_height_alone_keeps_the_codec_aspect(coco_mini, capsys):
    """``--input-size 128`` on the udp codec (256x192) runs at 128x96, as ``--input-size 128x96`` does."""
    ann, images = coco_mini / "annotations" / "person_keypoints_val2017.json", coco_mini / "val2017"
    base = ["codec-check", "--codec", "udp", "--ann", str(ann), "--images", str(images), "--json"]
    assert main([*base, "--input-size", "128"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert main([*base, "--input-size", "128x96"]) == 0
    assert json.loads(capsys.readouterr().out) == alone
    assert main([*base, "--input-size", "128x128"]) == 0
    assert json.loads(capsys.readouterr().out)["AP"] != alone["AP"]


def test_draw_arguments_give_draw_options():
    from featherpose.commands.args import add_draw_arguments, draw_options
    from featherpose.viz import DrawOptions

    p = argparse.ArgumentParser(prog="t", exit_on_error=False)
    add_draw_arguments(p)
    assert draw_options(p.parse_args([])) == DrawOptions()  # the defaults are draw_poses' own
    args = p.parse_args(["--draw-thr", "0.4", "--thickness", "3", "--radius", "0", "--no-ids", "--show-boxes",
                         "--colors", "side"])  # fmt: skip
    assert draw_options(args) == DrawOptions(0.4, 3, 0, False, True, "side")
    with pytest.raises(ValueError, match="keypoint threshold must be in \\[0, 1\\], got 2.0"):
        draw_options(p.parse_args(["--draw-thr", "2"]))
    with pytest.raises(argparse.ArgumentError, match="invalid choice: 'rainbow'"):
        p.parse_args(["--colors", "rainbow"])


def test_demo_runs_the_space_separated_models(capsys, one_thread):
    """``demo --models a b`` (as ``bench --models a,b``) times exactly those models."""
    assert main(["demo", "--skip-image", "--models", "mobileposenet", "litepose_xs", "--repeats", "1",
                 "--threads", "1"]) == 0  # fmt: skip
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line[:1].isalpha()]
    assert {"mobileposenet", "litepose_xs"} <= set(rows) and "hrnet_w32" not in rows
