"""RLHF Playground backend, usable without the UI. The packages follow the course, each importing only the ones
before it: data -> models -> arena, reward -> ppo; `workspace` composes them for the app (ui/) and `cli`."""

__version__ = "0.1.0"
