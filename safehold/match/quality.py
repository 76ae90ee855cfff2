"""The PDQ quality floor shared by matching, clusters and near-duplicate look-ups.

Below it a hash describes a flat or featureless picture, whose PDQ collides with unrelated ones:
matching it would flag innocent files and chain unrelated items into one cluster. Kept in a module
of its own so that code needing only the number does not load numpy and the PDQ index.
"""

from __future__ import annotations

__all__ = ["MIN_QUALITY"]

MIN_QUALITY = 50
