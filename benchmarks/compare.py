"""Two environments (two Prefect versions) side by side: their benchmark runs interleaved.

    python -m benchmarks.compare OTHER_PYTHON [--rounds 2] [--mode quick] [features startup]

Per round and question, `python -m benchmarks.QUESTION --MODE` with this interpreter, then with
OTHER_PYTHON (A B A B ...). Writes compare.json (every run, saved as it comes) and compare.md:
per headline figure (each run's `summary`), each environment's median and their ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from itertools import product
from pathlib import Path

import pandas as pd

from benchmarks.common import RESULTS

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("other_python")
parser.add_argument("questions", nargs="*", default=["features", "startup"])
parser.add_argument("--rounds", type=int, default=2)
parser.add_argument("--mode", default="quick")
parser.add_argument("--out", type=Path, default=RESULTS)


def main() -> None:
    args, runs = parser.parse_args(), []
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as folder:
        pythons = (sys.executable, args.other_python)
        for _, question, python in product(range(args.rounds), args.questions, pythons):
            out, name = Path(folder) / str(len(runs)), question.replace("features", "latest")
            command = [python, "-m", f"benchmarks.{question}", f"--{args.mode}", "--out", str(out)]
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            runs.append({"question": question, **json.loads((out / f"{name}.json").read_text())})
            (args.out / "compare.json").write_text(json.dumps(runs, indent=2) + "\n")
    rows = [
        {"question": r["question"], "figure": k, "prefect": r["run"]["prefect"], "value": v}
        for r in runs
        for k, v in r["summary"].items()
        if type(v) in (int, float)
    ]
    table = pd.DataFrame(rows).pivot_table(
        "value", ["question", "figure"], "prefect", "median", sort=False
    )
    this, other = runs[0]["run"]["prefect"], runs[1]["run"]["prefect"]
    table[f"{other} / {this}"] = table[other] / table[this]
    loads = ", ".join(f"{r['run']['load_1m_before']:.1f}" for r in runs)
    (args.out / "compare.md").write_text(
        f"# Prefect {other} vs {this}: {', '.join(args.questions)} ({args.mode}), "
        f"{args.rounds} rounds, interleaved\n\nLoad average (1 min) before each run, in order: "
        f"{loads}. The median of each environment's runs:\n\n"
        + table.reset_index().to_markdown(index=False, floatfmt=".3g")
        + "\n"
    )


if __name__ == "__main__":
    main()
