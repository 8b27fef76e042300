"""Settings, paths, Thai text, registries: what every stage shares; imports no stage."""
