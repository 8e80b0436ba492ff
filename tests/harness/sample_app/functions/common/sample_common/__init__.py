"""Shared code of the harness sample app (the real app's equivalent is the `clickpipes` package)."""
