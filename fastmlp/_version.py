"""The single source of fastmlp's version number."""

__version__ = "0.1.0"
