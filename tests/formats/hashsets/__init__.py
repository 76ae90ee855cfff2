"""Tests for safehold.formats.hashsets."""
