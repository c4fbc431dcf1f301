"""The lab: what the lessons use to set up, measure, check and draw (not the pipeline).

    from github_stars import lab
    from github_stars.lab import check, check_same_as_step

    sim = lab.start_simulator(latency=0.1)
    settings = lab.lesson_settings(sim)
    run = lab.measure_run(sim, show_stars, lab.DEFAULT_REPOS, settings)
    check(f"{len(run.requests)} requests", len(run.requests) == 3)

Everything a lesson calls with `lab.` comes from here: the simulator and the lesson's settings,
measurements (`measure`), checks that print one line of evidence (`checks`, `dask_checks`),
charts, a fresh result store, Prefect's log lines made short (`logs`, `at_scale`), the package's
code shown on the page (`show_source`), and the Prefect UI (`show_in_prefect_ui`).
"""

from github_stars.lab.charts import (
    plot_bars,
    plot_request_timeline,
    plot_request_timelines,
    plot_requests_over_time,
    plot_retry_gaps,
)
from github_stars.lab.checks import (
    CheckFailed,
    check,
    check_faster,
    check_limit,
    check_log_finished,
    check_one_at_a_time,
    check_requests,
    check_retry_gaps,
    check_same_as_step,
    check_stars,
    check_task_runs,
    check_under_budget,
    describe_statuses,
    expect_failure,
)
from github_stars.lab.console import one_line_errors, quiet_run_lines
from github_stars.lab.dask_checks import (
    check_pause_held,
    check_within_budget,
    import_in_workers,
    requests_during_pause,
    workers_used,
)
from github_stars.lab.every_day import Serving, api_stars, start_serving, without_flow_heartbeats
from github_stars.lab.lesson import lesson_settings, set_github_api_limit, shell_uses_this_kernel
from github_stars.lab.measure import (
    PeakThreads,
    Stopwatch,
    achieved_rate,
    budget_overshoot,
    connect_to_prefect,
    describe_limit,
    max_concurrent,
    measure_run,
    requests_frame,
    retry_gaps,
    task_run_states,
    time_interleaved,
)
from github_stars.lab.prefect_ui import show_in_prefect_ui
from github_stars.lab.result_store import fresh_results, start_uncached
from github_stars.lab.source import show_source
from github_stars.lab.under_the_hood import (
    answers_after_a_burst,
    fresh_limit,
    record_slot_asks,
    server_settings,
    startup_settings,
    take_slots,
)
from github_stars.reports.run_report import results_frame
from github_stars.servers import free_port, start_simulator
from github_stars.settings import DEFAULT_REPOS
from github_stars.simulator.calendar import example_repos
from github_stars.simulator.snapshot import SNAPSHOT_DATE, snapshot_repo_names

__all__ = [
    "DEFAULT_REPOS",
    "SNAPSHOT_DATE",
    "CheckFailed",
    "PeakThreads",
    "Serving",
    "Stopwatch",
    "achieved_rate",
    "answers_after_a_burst",
    "api_stars",
    "budget_overshoot",
    "check",
    "check_faster",
    "check_limit",
    "check_log_finished",
    "check_one_at_a_time",
    "check_pause_held",
    "check_requests",
    "check_retry_gaps",
    "check_same_as_step",
    "check_stars",
    "check_task_runs",
    "check_under_budget",
    "check_within_budget",
    "connect_to_prefect",
    "describe_limit",
    "describe_statuses",
    "example_repos",
    "expect_failure",
    "free_port",
    "fresh_limit",
    "fresh_results",
    "import_in_workers",
    "lesson_settings",
    "max_concurrent",
    "measure_run",
    "one_line_errors",
    "plot_bars",
    "plot_request_timeline",
    "plot_request_timelines",
    "plot_requests_over_time",
    "plot_retry_gaps",
    "quiet_run_lines",
    "record_slot_asks",
    "requests_during_pause",
    "requests_frame",
    "results_frame",
    "retry_gaps",
    "server_settings",
    "set_github_api_limit",
    "shell_uses_this_kernel",
    "show_in_prefect_ui",
    "show_source",
    "snapshot_repo_names",
    "start_serving",
    "start_simulator",
    "start_uncached",
    "startup_settings",
    "take_slots",
    "task_run_states",
    "time_interleaved",
    "without_flow_heartbeats",
    "workers_used",
]
