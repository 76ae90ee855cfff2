"""match layer."""
