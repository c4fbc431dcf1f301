"""`python -m github_stars.simulator [--port N] [--latency S] ...`: run the simulator server."""

from __future__ import annotations

import argparse
import json
from dataclasses import fields

import uvicorn

from github_stars.settings import LOOPBACK, SIMULATOR_PORT
from github_stars.simulator.app import create_app
from github_stars.simulator.knobs import SimulatorSettings

_SCALARS = {"float": float, "int": int, "int | None": int, "float | None": float, "str | None": str}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Local GitHub REST API simulator (snapshot data)")
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=SIMULATOR_PORT)
    parser.add_argument(
        "--settings",
        type=json.loads,
        default={},
        help='knobs as JSON, e.g. \'{"failure_rate": 0.2, "seed": 1}\'',
    )
    for f in fields(SimulatorSettings):
        if f.type in _SCALARS:
            parser.add_argument(
                f"--{f.name.replace('_', '-')}", type=_SCALARS[f.type], dest=f.name, default=None
            )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    knobs = dict(args.settings)
    knobs |= {
        f.name: getattr(args, f.name)
        for f in fields(SimulatorSettings)
        if getattr(args, f.name, None) is not None
    }
    settings = SimulatorSettings.from_dict(knobs)
    print(f"GitHub API simulator on http://{args.host}:{args.port} (snapshot data)", flush=True)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        http="h11",
        log_level="warning",
        date_header=False,  # every answer's `Date` is the simulator's clock (SimulatedDate)
    )


if __name__ == "__main__":
    main()
