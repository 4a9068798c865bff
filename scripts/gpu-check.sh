#!/usr/bin/env bash
# The GPU check: what the search costs where researchers run it, in one table.
#
#   scripts/gpu-check.sh            # from the repository root, on a machine with a CUDA GPU
#
# Runs search.bench for each neuron backend (auto, cuda, triton, torch, fused), each in float32 and in
# bfloat16 (--precision fp32, bf16) and with and without --compile, and the LIF front end for auto, torch and fused; a 20-trial search on 10,000 images (4 epochs each); one final retrain of
# its best trial; then prints one table (also written to studies/gpu-check/table.txt, with every
# step's full output beside it).  Without CUDA the GPU rows are skipped with the reason, the CPU
# reference rows, the search and the retrain run on the CPU, and the script exits 0; it exits 1
# when a step that ran failed.
#
# Sizes (for a quick try, and for the test of the CPU path) come from the environment:
#   GPU_CHECK_STEPS (bench timed steps, 60)  GPU_CHECK_TRIALS (20)  GPU_CHECK_TRAIN_SIZE (10000)
#   GPU_CHECK_VAL_SIZE (run's default)       GPU_CHECK_EPOCHS (4)
#   GPU_CHECK_FINAL_EPOCHS, GPU_CHECK_FINAL_TRAIN_SIZE (final's defaults: all 60,000 images)
#   GPU_CHECK_STUDY (gpu-check)  GPU_CHECK_STORAGE (sqlite:///studies/gpu-check.db)
#   GPU_CHECK_LOGS (studies/$GPU_CHECK_STUDY)  PYTHON (.venv/bin/python)
# and which benches run (a short GPU lease skips the slow ones; a skipped variant gets no row):
#   GPU_CHECK_BACKENDS ("auto cuda triton torch fused")  GPU_CHECK_PRECISIONS ("fp32 bf16")
#   GPU_CHECK_COMPILE ("--no-compile --compile")  GPU_CHECK_FRONT_BACKENDS ("auto torch fused")
set -uo pipefail

PY=${PYTHON:-.venv/bin/python}
STEPS=${GPU_CHECK_STEPS:-60}
TRIALS=${GPU_CHECK_TRIALS:-20}
TRAIN_SIZE=${GPU_CHECK_TRAIN_SIZE:-10000}
EPOCHS=${GPU_CHECK_EPOCHS:-4}
STUDY=${GPU_CHECK_STUDY:-gpu-check}
STORAGE=${GPU_CHECK_STORAGE:-sqlite:///studies/gpu-check.db}
LOGS=${GPU_CHECK_LOGS:-studies/$STUDY}
read -r -a BACKENDS <<<"${GPU_CHECK_BACKENDS:-auto cuda triton torch fused}"
read -r -a PRECISIONS <<<"${GPU_CHECK_PRECISIONS:-fp32 bf16}"
read -r -a COMPILES <<<"${GPU_CHECK_COMPILE:---no-compile --compile}"
read -r -a FRONT_BACKENDS <<<"${GPU_CHECK_FRONT_BACKENDS:-auto torch fused}"
mkdir -p "$LOGS"
ROWS=()
FAILED=0

row() { ROWS+=("$(printf '%-44s | %-16s | %-12s | %s' "$1" "$2" "$3" "$4")"); }

# value LOG LABEL: the value column of search.bench's table row LABEL
value() { sed -n "s|^ *$2  *\([0-9,.x]*\)$|\1|p" "$1" | head -1; }

# step NAME LOG COMMAND...: run one step, keep its output, report its exit status and seconds
step() {
    local name=$1 log=$2; shift 2
    local start=$SECONDS
    "$@" >"$log" 2>&1
    local rc=$?
    STEP_SECONDS=$((SECONDS - start))
    STEP_RC=$rc
    if [ "$rc" -ne 0 ]; then
        FAILED=1
        echo "gpu-check: $name failed (exit $rc), see $log" >&2
    fi
}

if "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    GPU=$("$PY" -c 'import torch; print(torch.cuda.get_device_name(0))')
    DEVICE=cuda
else
    GPU=""
    DEVICE=cpu
    NO_GPU="skipped: no CUDA GPU here (torch.cuda.is_available() is False)"
fi
# bfloat16 on the CPU: measured where oneDNN runs it natively, else skipped (emulated, many times slower).
CPU_BF16=$("$PY" -c 'import torch; print(int(torch.ops.mkldnn._is_mkldnn_bf16_supported()))' 2>/dev/null || echo 0)

bench() {  # bench LABEL FLAGS...
    local label=$1; shift
    local log="$LOGS/bench-$(echo "$label" | tr ' /=' '___').log"
    step "bench $label" "$log" "$PY" -m search.bench --steps "$STEPS" --device "$DEVICE" "$@"
    if [ "$STEP_RC" -eq 0 ]; then
        row "bench $label" "$(value "$log" 'training images/s')" "$(value "$log" 'evaluation images/s')" \
            "ok, ${STEP_SECONDS} s"
    else
        row "bench $label" "-" "-" "failed (exit $STEP_RC): $(tail -1 "$log")"
    fi
}

for backend in "${BACKENDS[@]}"; do
    for precision in "${PRECISIONS[@]}"; do
        for compile in "${COMPILES[@]}"; do
            label="$DEVICE $backend $precision $compile"
            if [ "$DEVICE" = cpu ] && { [ "$backend" = cuda ] || [ "$backend" = triton ]; }; then
                row "bench $label" "-" "-" "$NO_GPU"
            elif [ "$DEVICE" = cpu ] && [ "$precision" = bf16 ] && [ "$CPU_BF16" != 1 ]; then
                row "bench $label" "-" "-" "skipped: this CPU has no native bfloat16 (search.bench --naive times it)"
            elif [ "$DEVICE" = cpu ] && [ "$backend" = torch ]; then
                row "bench $label" "-" "-" "same kernels as auto for this network on the CPU (SpikingJelly's torch reference)"
            elif [ "$DEVICE" = cpu ] && [ "$backend" = fused ]; then
                row "bench $label" "-" "-" "skipped on the CPU: the CPU figures are search.bench --front-end lif's (docs/performance.md)"
            elif [ "$DEVICE" = cpu ] && [ "$compile" = --compile ]; then
                row "bench $label" "-" "-" "skipped on the CPU: compiling takes minutes (search.bench --compile)"
            else
                bench "$label" --neuron-backend "$backend" --precision "$precision" "$compile"
            fi
        done
    done
done

# The LIF front end, where the neurons' kernel is most of a step (docs/performance.md).
for backend in "${FRONT_BACKENDS[@]}"; do
    if [ "$DEVICE" = cpu ]; then
        row "bench $DEVICE lif-front $backend" "-" "-" "skipped on the CPU: its figures are in docs/performance.md"
    else
        bench "$DEVICE lif-front $backend" --front-end lif --neuron-backend "$backend"
    fi
done

SEARCH_FLAGS=(--study "$STUDY" --storage "$STORAGE" --trials "$TRIALS" --train-size "$TRAIN_SIZE" --epochs "$EPOCHS")
[ -n "${GPU_CHECK_VAL_SIZE:-}" ] && SEARCH_FLAGS+=(--val-size "$GPU_CHECK_VAL_SIZE")
step search "$LOGS/search.log" "$PY" -m search.run "${SEARCH_FLAGS[@]}"
row "search: $TRIALS trials, $TRAIN_SIZE images, $EPOCHS epochs" "-" "-" \
    "$([ "$STEP_RC" -eq 0 ] && echo ok || echo "failed (exit $STEP_RC)"), ${STEP_SECONDS} s on $DEVICE"

FINAL_FLAGS=(--study "$STUDY" --storage "$STORAGE")
[ -n "${GPU_CHECK_FINAL_EPOCHS:-}" ] && FINAL_FLAGS+=(--epochs "$GPU_CHECK_FINAL_EPOCHS")
[ -n "${GPU_CHECK_FINAL_TRAIN_SIZE:-}" ] && FINAL_FLAGS+=(--train-size "$GPU_CHECK_FINAL_TRAIN_SIZE")
step final "$LOGS/final.log" "$PY" -m search.final "${FINAL_FLAGS[@]}"
row "final retrain of the best trial" "-" "-" \
    "$([ "$STEP_RC" -eq 0 ] && echo ok || echo "failed (exit $STEP_RC)"), ${STEP_SECONDS} s on $DEVICE"

{
    echo "gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ): device ${GPU:-CPU only}; logs in $LOGS/"
    printf '%-44s | %-16s | %-12s | %s\n' "step" "train images/s" "eval img/s" "status"
    printf '%s\n' "${ROWS[@]}"
} | tee "$LOGS/table.txt"
exit "$FAILED"  # 0 when every step that ran worked (skipped GPU rows are not failures)
