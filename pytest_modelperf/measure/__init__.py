"""Measuring with torch: workloads, timers, calibration against the speed reference, host and CUDA memory, NVML, and the hardware key."""
