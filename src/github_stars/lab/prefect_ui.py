"""The "Prefect UI" entry of JupyterLab: jupyter-server-proxy in front of the Prefect server.

`binder/start` runs `prefect server start` on loopback with the UI and the API under the
proxy's path (`PREFECT_UI_SERVE_BASE=<jupyter base url>prefect-ui`,
`PREFECT_SERVER_API_BASE_PATH=<that>/api`). The proxy passes the full path through
(`absolute_url`), so the browser, the proxy and the server all use the same URLs, and the
notebooks' client reaches the same server directly at `PREFECT_API_URL`.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

PROXY_NAME = "prefect-ui"  # the entry point's name in pyproject.toml: the URL path segment
DEFAULT_PORT = 4200


def prefect_port() -> int:
    """The Prefect server's port: `PREFECT_SERVER_API_PORT` (set by binder/start), else 4200."""
    return int(os.environ.get("PREFECT_SERVER_API_PORT", DEFAULT_PORT))


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
