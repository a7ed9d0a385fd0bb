"""Functions (graph nodes) with hand-written forward and backward passes, by family."""
