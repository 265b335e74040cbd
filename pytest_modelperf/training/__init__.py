"""Training measured now: one optimizer step of a model (``step``), its time, rates and memory
(``measurement``), a sweep cell of it (``cell``), and data-parallel scaling on torchrun
(``scaling``, ``scaling_worker``)."""
