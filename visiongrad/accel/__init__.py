"""visiongrad.accel: everything that exists only for speed (see its modules)."""
