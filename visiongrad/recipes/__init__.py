"""Training recipes: a dataclass config and ``run(config, ...)`` per task; the command line
and the benchmarks call them."""
