"""The lessons that leave state behind run once more, in reverse order, with a token set.

Lesson 03 leaves concurrency limits on the Prefect server, 04 a cache and the seed's
`my_data_pipeline.py`, 06 runs with a token; all leave flow runs. nbmake runs every lesson in
order; then this test, on the same worker and Prefect server (conftest.py groups them), runs
06, 04, 03 again in fresh kernels. So each of them runs again after all the others. The
kernels get a sentinel `GITHUB_TOKEN`, which must show up in no output, in no file under
PREFECT_HOME and not in the Prefect server's database.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
STATEFUL_LESSONS = [
    "06_one_client_per_run.ipynb",
    "04_caching.ipynb",
    "03_rate_limiting.ipynb",
]
SENTINEL = "ghp_sentinelTokenThatMustNeverBeShown123"
CELL_TIMEOUT = 120


def run_notebook(path: Path) -> nbformat.NotebookNode:
    """Execute `path` top to bottom in a fresh kernel, in its own folder (as nbmake does)."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    return notebook


@pytest.mark.slow
@pytest.mark.timeout(3 * 4 * CELL_TIMEOUT)
def test_stateful_lessons_run_again_in_reverse_order_and_never_show_the_token(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", SENTINEL)
    outputs = {
        name: json.dumps([cell.get("outputs", []) for cell in run_notebook(NOTEBOOKS / name).cells])
        for name in STATEFUL_LESSONS
    }

    assert all('"output_type": "error"' not in text for text in outputs.values())
    assert [name for name, text in outputs.items() if SENTINEL in text] == []
    database = Path(os.environ["GITHUB_STARS_TEST_DATABASE"])  # conftest.py: this worker's
    assert database.is_file(), "the session's Prefect server keeps its database in a file"
    files = [
        *database.parent.glob(f"{database.name}*"),  # with its -wal and -shm files
        *(p for p in Path(os.environ["PREFECT_HOME"]).rglob("*") if p.is_file()),
    ]
    assert [path for path in files if SENTINEL.encode() in path.read_bytes()] == []
