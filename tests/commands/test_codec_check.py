"""``featherpose codec-check`` through the CLI on real COCO data."""

from __future__ import annotations

import json

from featherpose.cli import main
from featherpose.codecs import CODECS


def test_codec_check_list(capsys):
    assert main(["codec-check", "--list"]) == 0
    assert capsys.readouterr().out.split() == list(CODECS)


def test_codec_check_udp_on_val(coco_mini, capsys):
    ann = coco_mini / "annotations" / "person_keypoints_val2017.json"
    rc = main(["codec-check", "--codec", "udp", "--ann", str(ann), "--images", str(coco_mini / "val2017"), "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"AP", "AP50", "AP75", "APm", "APl", "AR", "n_images", "n_persons"}
    raw = json.loads(ann.read_text())
    assert out["n_images"] == len(raw["images"])
    assert out["AP"] >= 0.97


def test_codec_check_bad_annotation(tmp_path, coco_mini, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    rc = main(["codec-check", "--codec", "heatmap", "--ann", str(bad), "--images", str(coco_mini / "val2017")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and len(err.strip().splitlines()) == 1
