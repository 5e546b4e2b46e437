"""Access to the captured frames under tests/data (copied from the shared fixtures)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
VERSIONS = ("frames-4.9.8", "frames-5.3.3")


@dataclass(frozen=True)
class CapturedFrame:
    version: str
    path: Path
    meta: dict

    @property
    def raw(self) -> bytes:
        return self.path.read_bytes()

    @property
    def name(self) -> str:
        return f"{self.version}/{self.path.name}"


def captured_frames(version: str | None = None) -> list[CapturedFrame]:
    frames = []
    for folder in VERSIONS if version is None else (version,):
        for line in (DATA / folder / "frames.jsonl").read_text().splitlines():
            meta = json.loads(line)
            frames.append(CapturedFrame(folder, DATA / folder / meta["file"], meta))
    return frames
