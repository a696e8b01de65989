"""``featherpose demo`` (what ``make demo`` runs): the shipped default pipeline on the bundled photo,
then the models table with CPU latency. Needs no ../shared."""

from __future__ import annotations

import json

import pytest
import torch

from featherpose import pretrained
from featherpose.cli import main
from featherpose.inference import demo


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the demo's default thread count follows it
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)  # the command sets the process's thread count


def test_demo_runs_the_shipped_pipeline_then_the_table(tmp_path, capsys):
    out_dir = tmp_path / "demo"
    assert main(["demo", "--out", str(out_dir), "--models", "mobileposenet", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert demo.PHOTO_CREDIT in out
    assert f"model: {pretrained.DEFAULT_MODEL}, shipped weights" in out and "trained: configs/" in out
    assert f"person boxes: {pretrained.DEFAULT_DETECTOR}, shipped weights" in out
    assert "random weights (" not in out
    results = json.loads((out_dir / "demo_pose.json").read_text())
    persons = [r for r in results if r["num_keypoints_found"]]
    assert f"persons: {len(persons)} (" in out
    assert max(r["num_keypoints_found"] for r in persons) >= 10
    assert all(r["image_id"] == 349860 and len(r["keypoint_names"]) == 17 for r in results)
    assert (out_dir / "demo_pose.jpg").stat().st_size > 10_000 and (out_dir / "demo_pose_heatmaps.jpg").is_file()
    # the real photo first, then the table (1 thread: $OMP_NUM_THREADS)
    assert out.index("persons:") < out.index("featherpose models, batch 1 on CPU (1 thread; median of 1 runs")
    row = next(line for line in out.splitlines() if line.startswith("mobileposenet "))
    assert float(row.split()[-1]) > 0  # CPU ms


def test_skip_image_and_skip_table(tmp_path, capsys):
    assert main(["demo", "--skip-image", "--models", "mobileposenet", "--repeats", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "featherpose models" in out and "persons:" not in out and not list(tmp_path.iterdir())
    assert main(["demo", "--skip-table", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "persons:" in out and "featherpose models" not in out and (tmp_path / "demo_pose.json").is_file()


def test_missing_shipped_weights_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "empty")
    assert main(["demo", "--out", str(tmp_path / "out"), "--models", "mobileposenet", "--repeats", "1"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("featherpose demo: error: the shipped weights of mobileposenet")
    assert "featherpose models" not in captured.out  # it stops before the table
    assert not (tmp_path / "out").exists()


def test_default_threads_follow_the_environment_and_the_load(monkeypatch):
    import featherpose.commands.demo as cmd

    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cmd.default_threads() == (3, "")
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(cmd.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(cmd.os, "getloadavg", lambda: (0.1, 0.0, 0.0))
    assert cmd.default_threads() == (2, "")  # an idle 2-core machine
    monkeypatch.setattr(cmd.os, "getloadavg", lambda: (4.0, 0.0, 0.0))
    assert cmd.default_threads() == (1, "2 cores, 1-minute load average 4.0")  # busy: a second thread would only spin
    monkeypatch.setattr(cmd.os, "cpu_count", lambda: 1)
    monkeypatch.setattr(cmd.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert cmd.default_threads() == (1, "")
