"""smartschool: the entry point. The command line and the demo that tie edge, hub and
dashboard together; nothing below this package imports it."""

from core.version import __version__

__all__ = ["__version__"]
