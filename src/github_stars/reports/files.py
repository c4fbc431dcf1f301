"""Write a table as CSV and a chart as PNG, creating their folders."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure


def save_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """`frame` as CSV at `path`, without the index."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


def save_chart(figure: Figure, path: str | Path) -> None:
    """`figure` as PNG at `path`; the figure is closed (pyplot keeps every open one)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
