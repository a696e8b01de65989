import json
import subprocess
import sys

import featherpose
from featherpose.cli import main

KEYS = {"name", "family", "paradigm", "keypoints", "input_size", "params", "macs", "paper_params", "paper_macs"}


def test_models_json_lists_every_model(capsys):
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == featherpose.list_models()
    assert len(rows) >= 1
    for r in rows:
        assert set(r) == KEYS
        assert r["paradigm"] in ("top-down", "bottom-up")
        assert r["params"] > 0 and r["macs"] > 0
        spec = featherpose.get_spec(r["name"])
        assert r["params"] == sum(p.numel() for p in spec.build().parameters())


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "featherpose.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "models" in out.stdout and "demo" in out.stdout


def test_unknown_model_is_one_line_error(capsys):
    assert main(["demo", "--models", "no_such_model", "--repeats", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown model 'no_such_model'" in err[0]
