"""The lab: what measures, checks and draws the pipeline in the lessons (not the pipeline).

- `lesson`: the lessons' set-up helper (`lesson_settings`).
- `measure`: wall times, the simulator's request log as a table, achieved rates.
- `charts`: request timelines and requests against a budget (matplotlib).
- `checks`, `dask_checks`: short calls that check a lesson's claim and print what they verified.
- `results`: a fresh result store, so a lesson starts with nothing cached.
- `prefect_ui`: the "Prefect UI" entry of JupyterLab (jupyter-server-proxy).

The servers the lab runs (Prefect, PostgreSQL, the simulator) are in `github_stars.servers`.
"""
