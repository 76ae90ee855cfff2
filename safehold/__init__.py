"""Safehold: offline forensic platform for child-protection investigations."""

__all__ = ["__version__"]

__version__ = "0.1.0"
