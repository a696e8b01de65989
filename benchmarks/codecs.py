"""Round-trip every codec variant on both coco-mini splits; print a table and write JSON.

.venv/bin/python benchmarks/codecs.py [--data ../shared/data/coco-mini] [--out benchmarks/results/codecs.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from featherpose.codecs import CODECS
from featherpose.engine.roundtrip import codec_check

REPO = Path(__file__).resolve().parents[1]
# (variant, input size) pairs measured: top-down 256x192; OpenPose 368; LitePose-XS 256 and -S 448
RUNS = [(name, (256, 192)) for name in ("heatmap-argmax", "heatmap", "heatmap-dark", "udp")]
RUNS += [(name, (368, 368)) for name in ("openpose", "openpose-hungarian")]
RUNS += [(name, size) for name in ("ae", "ae-multires") for size in ((256, 256), (448, 448))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "coco-mini")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "codecs.json")
    args = ap.parse_args()
    if not args.data.exists():
        print(f"{args.data} is absent: nothing to measure", file=sys.stderr)
        return 1
    assert {n for n, _ in RUNS} == set(CODECS), "every codec variant must be benchmarked"
    rows = []
    print(f"{'codec':20s} {'input':8s} {'split':10s} {'AP':>6s} {'AP50':>6s} {'AP75':>6s} {'AR':>6s} {'ms/img':>7s}")
    for name, size in RUNS:
        for split in ("train2017", "val2017"):
            ann = args.data / "annotations" / f"person_keypoints_{split}.json"
            r = codec_check(name, ann, args.data / split, size)
            row = {"codec": name, "input": f"{size[0]}x{size[1]}", "split": split, **r}
            rows.append(row)
            print(f"{name:20s} {row['input']:8s} {split:10s} {r['AP']:6.3f} {r['AP50']:6.3f} {r['AP75']:6.3f} "
                  f"{r['AR']:6.3f} {r['decode_ms_per_image']:7.2f}")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
