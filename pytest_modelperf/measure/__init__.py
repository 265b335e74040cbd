"""Measuring with torch: workloads, timers, calibration against the speed reference, host and
CUDA memory, NVML, the hardware key, and the catalogue of every measure."""
