"""Training recipes: one dataclass config and run(config) each; the command line and the
benchmarks call them."""
