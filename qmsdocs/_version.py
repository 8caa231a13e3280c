"""The one place the version is written; pyproject.toml reads it (importlib.metadata costs ~100 ms)."""

__version__ = "0.1.0"
