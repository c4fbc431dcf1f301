"""The lessons that leave state behind run once more, in reverse order, with a token set.

Lessons 03-05 leave a concurrency limit and cache entries on the Prefect server and in the
result storage. This test runs them in the order 05, 04, 03 in fresh kernels; nbmake then
runs every lesson in order 00-05 in the same session (`make test` collects tests/ first),
with the same server and storage. So each of them runs twice in a row, after and before the
others. The kernels get a sentinel `GITHUB_TOKEN`, which must show up in no output and in
no result file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
STATEFUL_LESSONS = ["05_complete_pipeline.ipynb", "04_caching.ipynb", "03_rate_limiting.ipynb"]
SENTINEL = "ghp_sentinelTokenThatMustNeverBeShown123"
CELL_TIMEOUT = 120


def run_notebook(path: Path) -> nbformat.NotebookNode:
    """Execute `path` top to bottom in a fresh kernel, in its own folder (as nbmake does)."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


@pytest.mark.slow
@pytest.mark.timeout(3 * 4 * CELL_TIMEOUT)
def test_stateful_lessons_run_again_in_reverse_order_and_never_show_the_token(monkeypatch):
    # The default result storage ($PREFECT_HOME/storage), shared with nbmake's pass, not the
    # per-test folder of conftest's own_result_storage: the second run must meet the first's.
    monkeypatch.delenv("PREFECT_LOCAL_STORAGE_PATH", raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", SENTINEL)
    outputs = {name: json.dumps([cell.get("outputs", []) for cell in run_notebook(
        NOTEBOOKS / name).cells]) for name in STATEFUL_LESSONS}

    assert all('"output_type": "error"' not in text for text in outputs.values())
    assert [name for name, text in outputs.items() if SENTINEL in text] == []
    storage = Path(os.environ["PREFECT_HOME"]) / "storage"
    stored = [path for path in storage.rglob("*") if path.is_file()]
    assert stored, "the lessons cached their results in the default storage"
    assert [path for path in stored if SENTINEL.encode() in path.read_bytes()] == []
