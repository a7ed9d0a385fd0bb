"""Training and deployment recipes: each a dataclass config (validated when it is made)
and ``run(config, ...)``; the commands and the benchmarks call them."""
