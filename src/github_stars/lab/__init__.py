"""The lab: what measures, checks and draws the pipeline in the lessons (not the pipeline).

- `measure`: wall times, the simulator's request log as a table, achieved rates.
- `charts`: request timelines and requests against a budget (matplotlib).
- `checks`: short calls that check a lesson's claim and print what they verified.
- `prefect_ui`: the "Prefect UI" entry of JupyterLab (jupyter-server-proxy).
"""
