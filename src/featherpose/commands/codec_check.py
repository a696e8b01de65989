"""``featherpose codec-check``: round-trip ground truth through a codec and score it with COCO AP, on the
prediction path of ``infer`` / ``eval`` (the network replaced by the encoded ground truth)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from featherpose.cli import CLIError
from featherpose.commands.args import SIZE_METAVAR, size_arg

KEYS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "n_images", "n_persons")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("codec-check", help="encode + decode ground truth with a codec, score it (COCO AP)")
    p.add_argument("--list", action="store_true", help="print the codec names, one per line")
    p.add_argument("--codec", help="codec name (see --list)")
    p.add_argument("--ann", type=Path, help="COCO-format keypoint annotation file")
    p.add_argument("--images", type=Path, help="folder with the file's images")
    p.add_argument("--input-size", type=size_arg, metavar=SIZE_METAVAR,
                   help="network input size, H or HxW; H keeps the codec's aspect ratio (default: the "
                        "codec's, e.g. 256x192)")  # fmt: skip
    p.add_argument("--flip", action="store_true", help="flip test, as `infer --flip`")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from featherpose.codecs import CODECS
    from featherpose.data.errors import AnnotationError, ImageError
    from featherpose.engine.roundtrip import codec_check

    if args.list:
        print("\n".join(CODECS))
        return 0
    if not args.codec or not args.ann or not args.images:
        raise CLIError("--codec, --ann and --images are required (or --list)")
    if args.codec not in CODECS:
        raise CLIError(f"unknown codec {args.codec!r}; known: {', '.join(CODECS)}")
    if not args.images.is_dir():
        raise CLIError(f"folder {args.images}: not found")
    size = None
    if args.input_size is not None:  # H alone keeps the codec's own aspect ratio
        from featherpose.codecs import get_codec
        from featherpose.preprocess import parse_input_size

        size = parse_input_size(args.input_size, tuple(get_codec(args.codec).input_size))
    try:
        res = codec_check(args.codec, args.ann, args.images, size, flip=args.flip)
    except (AnnotationError, ImageError) as exc:
        raise CLIError(str(exc)) from None
    out = {k: res[k] for k in KEYS}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"codec {args.codec}: " + "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                                               for k, v in out.items()))  # fmt: skip
        print(f"decode time: {res['decode_ms_per_image']:.2f} ms per image")
    return 0
