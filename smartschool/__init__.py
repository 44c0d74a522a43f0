"""smartschool: the command line, settings and the demo that tie edge, hub and dashboard."""

__version__ = "0.1.0"
