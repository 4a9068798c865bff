#!/bin/bash
# The unpruned fidelity measurement: 16 random configurations of the default space, 10 epochs on 50,000 images,
# then the same 16 on 10,000 images, then search.fidelity. Run alone, from the worktree.
cd /work/wt
PY=/work/main/.venv/bin/python
DB=sqlite:///studies/fidelity.db
echo "start 50k $(date -u +%FT%TZ)"
$PY -m search.run --storage $DB --study fidelity-50k --trials 16 --pruner none --sampler random --seed 0 --no-thesis
echo "exit $? end 50k $(date -u +%FT%TZ)"
echo "start 10k $(date -u +%FT%TZ)"
$PY -m search.run --storage $DB --study fidelity-10k --start-from fidelity-50k --train-size 10000 --trials 16 --pruner none --sampler random --seed 0 --no-thesis
echo "exit $? end 10k $(date -u +%FT%TZ)"
