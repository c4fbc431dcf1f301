"""requirements.lock pins every package that `make install`, CI and Binder install, and stays in
step with the direct pins (requirements.txt, requirements-book.txt) and pyproject.toml.

After changing a pin: `make lock`, then `make install`.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)(\[[^\]]*\])?==([^\s;#]+)")


def pins(path: Path) -> dict[str, str]:
    """`name==version` lines of a requirements file (not following `-r`), by canonical name."""
    found = {}
    for line in path.read_text().splitlines():
        if match := PIN.match(line.strip()):
            found[canonicalize_name(match[1])] = match[3]
    return found


def test_the_lock_holds_every_direct_pin_at_its_version():
    locked = pins(LOCK)
    direct = pins(ROOT / "requirements.txt") | pins(ROOT / "requirements-book.txt")
    differ = {name: (version, locked.get(name)) for name, version in direct.items()}
    assert {name: v for name, v in differ.items() if v[0] != v[1]} == {}


def test_the_lock_satisfies_the_packages_own_requirements():
    locked = pins(LOCK)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    unmet = [
        str(requirement)
        for requirement in map(Requirement, project["dependencies"])
        if locked.get(canonicalize_name(requirement.name)) not in requirement.specifier
    ]
    assert unmet == []


def test_this_environment_is_the_lock():
    """What `make install` (and so CI) installed is exactly what the lock says."""
    installed = {}
    for name in pins(LOCK):
        try:
            installed[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed[name] = None
    assert {n: (v, installed[n]) for n, v in pins(LOCK).items() if installed[n] != v} == {}


def test_binder_installs_the_lock():
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    assert [line for line in lines if not line.startswith("#")] == ["-r ../requirements.lock"]
