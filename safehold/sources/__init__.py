"""Evidence sources and container readers, one module per format."""
