"""The "Prefect UI" entry of JupyterLab's launcher: jupyter-server-proxy's settings.

A module of its own, light to import: JupyterLab loads it when it starts (the entry point
`prefect-ui` in pyproject.toml). `binder/start` runs the lab's servers
(`github_stars.servers.lab_servers`): `prefect server start` on loopback with the UI and the
API under the proxy's path (`PREFECT_UI_SERVE_BASE` is `<jupyter base url>prefect-ui`,
`PREFECT_SERVER_API_BASE_PATH` that plus `/api`). The proxy passes the full path through
(`absolute_url`), so the browser, the proxy and the server all use the same URLs, and the
notebooks' client reaches the same server directly at `PREFECT_API_URL`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from github_stars.settings import LabPlaces

PROXY_NAME = "prefect-ui"  # the entry point's name in pyproject.toml: the URL path segment


def prefect_port() -> int:
    """The lab's Prefect server's port: `PREFECT_SERVER_API_PORT` (set by binder/start)."""
    return LabPlaces.from_environment().prefect_port


def prefect_icon() -> str:
    """Path of Prefect's own SVG logo inside the installed package (without importing it)."""
    spec = importlib.util.find_spec("prefect")
    if spec is None or not spec.submodule_search_locations:
        return ""
    icon = Path(spec.submodule_search_locations[0]) / "server" / "ui" / "ico"
    icon /= "safari-pinned-tab.svg"
    return str(icon) if icon.exists() else ""


def server_proxy_config() -> dict[str, Any]:
    """jupyter-server-proxy settings: proxy to the already running server, full paths."""
    return {
        "command": [],  # binder/start has started it; the notebooks need it before the UI
        "port": prefect_port(),
        "absolute_url": True,
        "new_browser_tab": False,  # a JupyterLab tab, to dock beside a notebook
        "launcher_entry": {
            "title": "Prefect UI",
            "icon_path": prefect_icon(),
            "path_info": f"{PROXY_NAME}/",
        },
    }
