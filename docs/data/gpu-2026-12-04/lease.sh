#!/usr/bin/env bash
# One GPU lease (device tool): scripts/gpu-check.sh at sizes that fit ~9 minutes, then extras.
set -u
T0=$SECONDS
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT" studies
exec > >(tee "$OUT/lease.log") 2>&1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl || { echo "pip failed"; exit 3; }
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 FMNIST_DIR=$PWD/.gpu/data PYTHON=python3
date -u +%FT%TZ
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
nproc
python3 -c 'import sys, torch, triton, spikingjelly, optuna, importlib.metadata as m; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "triton", triton.__version__, "spikingjelly", m.version("spikingjelly"), "optuna", optuna.__version__, torch.cuda.get_device_name(0))'
echo "setup done at $((SECONDS - T0)) s"

export GPU_CHECK_STUDY=gpu-check GPU_CHECK_STORAGE=sqlite:///studies/gpu-check.db GPU_CHECK_LOGS=studies/gpu-check
GPU_CHECK_AMP=--no-amp GPU_CHECK_COMPILE=--no-compile GPU_CHECK_STEPS=60 \
GPU_CHECK_TRIALS=3 GPU_CHECK_TRAIN_SIZE=50000 GPU_CHECK_EPOCHS=10 \
GPU_CHECK_FINAL_EPOCHS=2 GPU_CHECK_FINAL_TRAIN_SIZE=10000 \
    timeout 380 scripts/gpu-check.sh
echo "gpu-check exit $? at $((SECONDS - T0)) s"

# The headline's trial 33 (its network and batch), then AMP and compile for the default network.
extra() {  # extra NAME FLAGS...
    local name=$1; shift
    local left=$((530 - (SECONDS - T0)))
    if [ "$left" -lt 30 ]; then echo "extra $name: skipped, $left s left"; return; fi
    timeout "$left" python3 -m search.bench --steps 60 --device cuda "$@" > "studies/gpu-check/extra-$name.log" 2>&1
    echo "extra $name exit $? at $((SECONDS - T0)) s"
    grep -E "images/s|GFLOP" "studies/gpu-check/extra-$name.log"
}
extra trial33 --strategy lr_annealing --batch-size 128 --time-steps 5 --tau 2.30 --surrogate atan --label-smoothing 0.11
extra amp --amp
extra compile --compile
tar czf "$OUT/gpu-check.tgz" studies/gpu-check studies/gpu-check.db
echo "done at $((SECONDS - T0)) s"
