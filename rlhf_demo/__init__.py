"""RLHF Playground backend: data, models, jobs and the RLHF stages, usable without the UI."""

__version__ = "0.1.0"
