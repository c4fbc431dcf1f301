"""A faithful local stand-in for the GitHub REST API, serving a dated snapshot."""

from github_stars.simulator.control import Simulator, SimulatorError, free_port, start_simulator
from github_stars.simulator.knobs import SimulatorSettings

__all__ = ["Simulator", "SimulatorError", "SimulatorSettings", "free_port", "start_simulator"]
