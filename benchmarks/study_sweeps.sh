#!/usr/bin/env bash
# The study's three sweeps (transformers' PyTorchBenchmark over DistilBERT, SqueezeBERT and
# BERT), then their plots. By default the grids are scaled down for a 2-core CPU; with
# GRID=study they are the study's own grids, for a GPU.
#
#   bash benchmarks/study_sweeps.sh [OUTPUT_DIR]        (default: docs/study-sweeps/<device>)
#   DEVICE=cuda GRID=study bash benchmarks/study_sweeps.sh
set -euo pipefail
DEVICE=${DEVICE:-cpu}
OUT=${1:-docs/study-sweeps/$DEVICE}
MODELS=(distilbert squeezebert bert)
if [[ ${GRID:-cpu} == study ]]; then
    SEQUENCE=(--batch-sizes 32 --sequence-lengths 32 128 512 1024)
    BATCH=(--batch-sizes 64 128 256 512 --sequence-lengths 512)
    SHORT=(--batch-sizes 256 --sequence-lengths 8 32 128 512)
    TIMING=()
else
    SEQUENCE=(--batch-sizes 8 --sequence-lengths 32 128 512 1024)
    BATCH=(--batch-sizes 2 4 8 16 --sequence-lengths 128)
    SHORT=(--batch-sizes 32 --sequence-lengths 8 32 128)
    TIMING=(--min-rounds 5 --max-rounds 20 --max-time 3 --warmup-rounds 1 --warmup-time 0)
fi
COMMON=(--models "${MODELS[@]}" --device "$DEVICE" --force --no-progress "${TIMING[@]}")

# 1. time and memory against sequence length (the study's required_memory.csv and time.csv)
modelperf sweep "${COMMON[@]}" "${SEQUENCE[@]}" --measures time memory --output "$OUT/sequence-length"
# 2. memory against batch size at a long sequence (the study's required_memory_2.csv)
modelperf sweep "${COMMON[@]}" "${BATCH[@]}" --measures time memory --output "$OUT/batch-size"
# 3. time of a large batch over short to long sequences (the study's time.csv)
modelperf sweep "${COMMON[@]}" "${SHORT[@]}" --measures time throughput --output "$OUT/large-batch"

for sweep in sequence-length batch-size large-batch; do
    modelperf plot "$OUT/$sweep" --output "$OUT/$sweep/plots"
    modelperf plot "$OUT/$sweep" --log --output "$OUT/$sweep/plots-log"
done
