"""Quality (accuracy) measurements: evaluation data, ``evaluate`` metrics, fine-tuning and preparing fine-tuned models.

Importing this package is cheap; the modules that need torch, datasets or evaluate import
them themselves.
"""
