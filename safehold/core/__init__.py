"""Core types with no I/O: settings, errors, locators, clock."""
