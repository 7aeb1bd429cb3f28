"""Files written under a temporary name and renamed, so an interrupted fetch leaves nothing
half written; a file already there is kept (delete it to fetch it again)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO


def all_there(targets: Sequence[Path]) -> bool:
    """Whether every target exists; prints ``already there`` for them if so."""
    if targets and all(t.exists() for t in targets):
        names = ", ".join(str(t) for t in targets)
        print(f"  {names} already there", flush=True)
        return True
    return False


def describe(path: Path) -> str:
    size = path.stat().st_size
    return f"{path} ({size / 1e6:.1f} MB)" if size >= 100_000 else f"{path} ({size:,} bytes)"


@contextlib.contextmanager
def writing(*targets: Path) -> Iterator[list[TextIO]]:
    """Open ``.NAME.tmp`` files beside the targets; on success rename them all at once."""
    temps = [t.parent / f".{t.name}.tmp" for t in targets]
    handles: list[TextIO] = []
    try:
        for target, temp in zip(targets, temps, strict=True):
            target.parent.mkdir(parents=True, exist_ok=True)
            handles.append(open(temp, "w", encoding="utf-8", newline="\n"))  # noqa: SIM115
        yield handles
        for handle in handles:
            handle.close()
        for target, temp in zip(targets, temps, strict=True):
            os.replace(temp, target)
    finally:
        for handle in handles:
            handle.close()
        for temp in temps:
            temp.unlink(missing_ok=True)


def write_text(target: Path, text: str) -> None:
    with writing(target) as (handle,):
        handle.write(text)
    print(f"  wrote {describe(target)}", flush=True)
