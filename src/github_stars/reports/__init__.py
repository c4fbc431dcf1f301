"""Tables and charts with pandas: a run's results, and the star history.

Used by the lessons and the command line alike.
"""

from github_stars.reports.history_report import (
    gains_per_day,
    plot_gains,
    plot_stars_over_time,
    save_history,
    stars_by_day,
    top_movers,
)
from github_stars.reports.run_report import (
    plot_stars,
    read_results,
    results_frame,
    results_json,
    save_json,
    save_results,
)

__all__ = [
    "gains_per_day",
    "plot_gains",
    "plot_stars",
    "plot_stars_over_time",
    "read_results",
    "results_frame",
    "results_json",
    "save_history",
    "save_json",
    "save_results",
    "stars_by_day",
    "top_movers",
]
