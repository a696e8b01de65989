"""Argument types shared by every ``featherpose`` command: one list syntax and one input-size parser.

Lists: ``--models a,b``, ``--models a b`` and ``--models a,b c`` all give ``["a", "b", "c"]``
(:func:`add_list_argument`; repeating the flag extends the list). Input sizes: ``H`` (the width
keeps the model's aspect ratio) or ``HxW`` (:func:`size_arg`, the rules of
:func:`featherpose.preprocess.parse_input_size`). A bad value is one argparse error line naming the
option and the problem, e.g. ``argument --input-size: '25x': input size must be H or HxW ...``.
Rendering commands share the drawing options too (:func:`add_draw_arguments`, :func:`draw_options`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from featherpose.preprocess import parse_input_size

if TYPE_CHECKING:
    from featherpose.viz import DrawOptions

SIZE_METAVAR = "H|HxW"
"""The metavar of every input-size option (``--input-size 256`` or ``--input-size 256x192``)."""


def list_arg(text: str) -> list[str]:
    """``"a,b"`` / ``"a, b"`` -> ``["a", "b"]``; an empty item (``"a,,b"``, ``""``) is an error."""
    items = [t.strip() for t in str(text).split(",")]
    if not items or any(not t for t in items):
        raise argparse.ArgumentTypeError(f"{text!r}: empty item in the list (use a,b or a b)")
    return items


def floats_arg(text: str) -> list[float]:
    """``"1,0.75"`` -> ``[1.0, 0.75]``; an item that is not a number is an error."""
    out = []
    for t in list_arg(text):
        try:
            out.append(float(t))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: {t!r} is not a number") from None
    return out


def size_arg(text: str) -> int | tuple[int, int]:
    """``"256"`` -> ``256`` (height; the width follows the model's aspect ratio), ``"256x192"`` ->
    ``(256, 192)``. Both forms are what ``parse_input_size`` (and every API taking an
    ``input_size``) accepts; zero, negative or malformed sizes are an error."""
    try:
        h, w = parse_input_size(str(text).strip(), (1, 1))
    except ValueError as exc:
        problem = str(exc).split(", got ")[0]  # the value is named first instead
        raise argparse.ArgumentTypeError(f"{text!r}: {problem}") from None
    single = len(str(text).lower().replace(",", "x").split("x")) == 1
    return h if single else (h, w)


class ListAction(argparse.Action):
    """``nargs="+"`` tokens, each itself comma-separated, flattened into one list; items are
    converted by ``item`` and checked against ``choices`` (after the split, unlike argparse's own)."""

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str,
        item: Callable[[str], Any] = str,
        item_choices: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("nargs", "+")
        super().__init__(option_strings, dest, **kwargs)
        self.item = item
        self.item_choices = tuple(item_choices) if item_choices is not None else None

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        tokens = [values] if isinstance(values, str) else list(values or [])
        items: list[Any] = []
        for token in tokens:
            try:
                for t in list_arg(token):
                    if self.item_choices is not None and t not in self.item_choices:
                        raise argparse.ArgumentTypeError(f"{t!r} is not one of {', '.join(self.item_choices)}")
                    try:
                        items.append(self.item(t))
                    except ValueError:
                        name = getattr(self.item, "__name__", "value")
                        raise argparse.ArgumentTypeError(f"{t!r} is not a valid {name}") from None
            except argparse.ArgumentTypeError as exc:
                raise argparse.ArgumentError(self, str(exc)) from None
        current = getattr(namespace, self.dest, None)
        keep = isinstance(current, list) and current is not self.default
        setattr(namespace, self.dest, (current + items) if keep else items)


def add_list_argument(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    *flags: str,
    item: Callable[[str], Any] = str,
    choices: Sequence[str] | None = None,
    metavar: str | None = None,
    **kwargs: Any,
) -> argparse.Action:
    """Add a list option taking ``a,b``, ``a b`` or both (default ``None`` unless given);
    ``item`` converts each element (e.g. ``float``), ``choices`` restricts them."""
    if metavar is None:
        metavar = flags[-1].lstrip("-").upper().rstrip("S") if flags[-1].startswith("-") else None
    return parser.add_argument(*flags, action=ListAction, item=item, item_choices=choices, metavar=metavar,
                               **kwargs)  # fmt: skip


def add_draw_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The drawing options of rendered images / videos (:class:`featherpose.viz.DrawOptions`):
    ``--draw-thr``, ``--thickness``, ``--radius``, ``--colors``, ``--no-ids``, ``--show-boxes``
    (the names ``featherpose infer`` uses); read them back with :func:`draw_options`."""
    from featherpose.viz import COLOR_SCHEMES, DrawOptions

    d = DrawOptions()
    parser.add_argument("--draw-thr", type=float, default=d.kpt_thr, metavar="SCORE",
                        help=f"do not draw keypoints / limbs scoring under this (default {d.kpt_thr})")  # fmt: skip
    parser.add_argument("--thickness", type=int, metavar="PX", help="limb width (default: image size / 240)")
    parser.add_argument("--radius", type=int, metavar="PX", help="keypoint dot radius (default: thickness + 1)")
    parser.add_argument("--colors", choices=COLOR_SCHEMES, default=d.colors,
                        help="skeleton colours: a hue per limb (default), left / right / centre, or one per "
                             "person")  # fmt: skip
    parser.add_argument("--no-ids", action="store_true", help="do not write track ids")
    parser.add_argument("--show-boxes", action="store_true", help="draw the person boxes")


def draw_options(args: argparse.Namespace) -> DrawOptions:
    """The :class:`featherpose.viz.DrawOptions` of :func:`add_draw_arguments`'s options; a bad
    value raises ``ValueError`` with one line (the CLI prints it)."""
    from featherpose.viz import DrawOptions

    return DrawOptions(kpt_thr=args.draw_thr, thickness=args.thickness, radius=args.radius, show_ids=not args.no_ids,
                       show_boxes=args.show_boxes, colors=args.colors)  # fmt: skip
