"""Shared plumbing for tokvec's figures: Agg rendering without pyplot, atomic PNG saving, units.

Figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas directly, so plotting
never needs a display and never changes the global pyplot backend of a user's session.

>>> fig = new_figure(4, 3)
>>> ax = fig.add_subplot()
>>> _ = ax.plot([0, 1], [1, 0])
>>> import tempfile
>>> path = tempfile.mkdtemp() + "/x.png"
>>> save_png(fig, path).read_bytes()[:8] == PNG_MAGIC
True
>>> human_bytes(3 * 1024 ** 2), human_count(1_234_567)
('3.0 MiB', '1.23M')
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import atomic_file
from ..errors import TokvecError

if TYPE_CHECKING:  # matplotlib is imported only when a figure is drawn (keeps the CLI fast)
    from matplotlib.figure import Figure

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DPI = 110


def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure attached to an Agg canvas (no display, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` as a PNG atomically; ``path`` must end in ``.png``."""
    target = Path(path)
    if target.suffix.lower() != ".png":
        raise TokvecError("the output file must end in .png", path=target)
    if target.is_dir():
        raise TokvecError("is a directory, expected a .png file name", path=target)
    with atomic_file(target, "wb") as handle:
        fig.savefig(handle, format="png", dpi=DPI)
    return target


def human_bytes(n: float) -> str:
    """Bytes with a binary unit: ``1536 -> '1.5 KiB'``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def human_count(n: float) -> str:
    """A count with k/M/G suffix: ``1_234_567 -> '1.23M'``."""
    value = float(n)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value:.0f}"
