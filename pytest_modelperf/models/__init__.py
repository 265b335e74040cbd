"""Checkpoints: loading, the model registry, offline tokenizers, and building registered checkpoints (prepare)."""
