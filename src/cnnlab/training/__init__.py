"""Training: one engine-agnostic loop, run directories, checkpoints, tracking."""
