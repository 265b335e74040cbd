"""Checkpoints: loading, the registry, offline tokenizers and checkpoints, fine-tune records, the dataset catalogue.

Nothing here imports the measuring or quality layers: fine-tuning itself, and preparing the
fine-tuned models of a registry, live in :mod:`pytest_modelperf.quality`.
"""
