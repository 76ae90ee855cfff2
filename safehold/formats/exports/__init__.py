"""Writers for exchange formats (VICS now; CASE/UCO and reports later)."""
