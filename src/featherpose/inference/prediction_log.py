"""Results that survive an interrupted run: ``predictions.jsonl`` gets one JSON object per image or
video frame, written and flushed as soon as it is produced, so a Ctrl-C, a ``kill`` or a crash keeps
everything done so far. ``predictions.json`` (COCO keypoint results) is written at the end, and
:func:`rebuild` makes it again from the JSONL after a run that was cut hard (SIGKILL, power loss).

One line: ``{"source": ..., "image_id": ..., "frame": ... (video frames), "time": ... (seconds,
video frames), "poses": [COCO results entries]}``; each pose entry is what ``predictions.json``
holds for it (``image_id``, ``keypoints``, ``score``, ``bbox``, ``file_name``, ``frame``,
``track_id``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from featherpose.atomic import atomic_write

JSONL = "predictions.jsonl"
JSON = "predictions.json"


class ResultLog:
    """Append-as-you-go log of one run's results in ``out_dir``: a fresh ``predictions.jsonl``
    (created at the first record, replacing an older one), flushed after every record;
    :meth:`finish` writes ``predictions.json``. The COCO entries are also kept in ``entries``."""

    def __init__(self, out_dir: str | Path) -> None:
        self.out = Path(out_dir)
        self.entries: list[dict] = []
        self.records = 0
        self._fh: IO[str] | None = None
        self._closed = False

    @property
    def jsonl(self) -> Path:
        return self.out / JSONL

    @property
    def json(self) -> Path:
        return self.out / JSON

    def add(self, source: str, image_id: int, poses: list[dict], frame: int | None = None,
            time: float | None = None) -> None:  # fmt: skip
        """Record one image or frame (``poses``: its COCO results entries) and flush it to disk."""
        record: dict = {"source": source, "image_id": int(image_id)}
        if frame is not None:
            record["frame"] = int(frame)
        if time is not None:
            record["time"] = round(float(time), 4)
        record["poses"] = poses
        if self._closed:
            raise ValueError(f"{self.jsonl}: the log is closed")
        if self._fh is None:
            self.out.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.jsonl, "w", encoding="utf-8")  # noqa: SIM115 (kept open for the run)
        self._fh.write(json.dumps(record) + "\n")
        self._fh.flush()
        self.entries.extend(poses)
        self.records += 1

    def close(self) -> None:
        self._closed = True
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def finish(self) -> Path:
        """Close the JSONL and write ``predictions.json`` (atomically) from the entries."""
        self.close()
        return write_json(self.json, self.entries)


def write_json(path: Path, entries: list[dict]) -> Path:
    """Write a COCO results list atomically (a cut write leaves the old file or the new one)."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(entries), encoding="utf-8"))


def read_jsonl(path: str | Path) -> tuple[list[dict], int]:
    """The records of a ``predictions.jsonl`` and the number of lines that could not be read (the
    last line of a run killed mid-write may be cut short). :class:`ValueError` naming the file when
    it is missing or holds no record at all."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: file not found (nothing to rebuild from)")
    records, bad = [], 0
    with open(p, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            if isinstance(rec, dict) and isinstance(rec.get("poses"), list):
                records.append(rec)
            else:
                bad += 1
    if not records and bad:
        raise ValueError(f"{p}: no readable record ({bad} broken lines)")
    return records, bad


def rebuild(out_dir: str | Path) -> tuple[Path, int, int, int]:
    """Write ``OUT/predictions.json`` from ``OUT/predictions.jsonl`` -> (path, records, poses,
    unreadable lines)."""
    out = Path(out_dir)
    records, bad = read_jsonl(out / JSONL)
    entries = [pose for rec in records for pose in rec["poses"]]
    return write_json(out / JSON, entries), len(records), len(entries), bad
