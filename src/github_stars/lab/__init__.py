"""The lab: what measures, checks and draws the pipeline in the lessons (not the pipeline).

- `measure`: wall times, the simulator's request log as a table, achieved rates.
- `charts`: request timelines and requests against a budget (matplotlib).
- `checks`, `dask_checks`: short calls that check a lesson's claim and print what they verified.
- `results`: a fresh result store, so a lesson starts with nothing cached.
- `prefect_ui`: the "Prefect UI" entry of JupyterLab (jupyter-server-proxy).
- `prefect_server`, `postgres`: a Prefect server of its own, on SQLite or on a throw-away
  PostgreSQL cluster, for tests and the benchmark; `processes` stops them.
"""
