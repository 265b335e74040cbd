"""The data model and the judgement: units, statistics, measurements, baseline entries, noise
bands, verdicts and the baseline policy. Imports neither pytest nor torch."""
