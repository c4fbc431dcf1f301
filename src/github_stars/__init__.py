"""Resilient Pipelines: GitHub star counts with Prefect 3, online or against a local simulator."""

__version__ = "0.1.0"
