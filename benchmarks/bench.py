"""Speed table of every model x backend (``featherpose bench`` with the results kept in the repo).

.venv/bin/python benchmarks/bench.py [--full] [--models a,b] [--backends torch,openvino] ...

Writes benchmarks/results/bench.json and benchmarks/results/bench.png (latency vs MACs and vs params)
and prints the markdown table quoted in docs/benchmarks.md. Same code as ``featherpose bench``
(:mod:`featherpose.bench`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from featherpose.cli import main

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":
    argv = sys.argv[1:]
    defaults = [] if "--out" in argv else ["--out", str(RESULTS / "bench.json")]
    defaults += [] if "--plot" in argv else ["--plot", str(RESULTS / "bench.png")]
    sys.exit(main(["bench", *defaults, *argv]))
