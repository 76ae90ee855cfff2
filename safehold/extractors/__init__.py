"""Extractors: one module per analysis, all behind the contract in ``base``; ``registry`` lists them."""
