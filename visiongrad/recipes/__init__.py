"""Training recipes: one home for each task's training, a dataclass ``Config`` (every field
checked when it is built) and ``run(config)`` on the shared Trainer or epoch loop. The
command line turns its options into a ``Config``; benchmarks build one directly.

Modules are imported on demand (``from visiongrad.recipes import classify``).
"""
