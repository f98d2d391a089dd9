#!/usr/bin/env bash
# The main demo: does pre-training help? The packaged English BERT (MiniLM-L6) against the same
# body with new embeddings (reinit) and a randomly initialised model (scratch), fine-tuned on a
# real sentence-classification set made from Debian's fortunes files, 2 seeds each, then the
# report (mean ± std). Usage: bash tools/demo.sh [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_system_deps.sh fortunes fortunes-min
out=${1:-outputs/demo}
rm -rf "$out"
ssl-universal train -m recipe=text/classification \
    model.assignment=none,reinit,scratch seed=0,1 \
    trainer.max_steps=60 trainer.eval_every=20 trainer.save_every=60 trainer.warmup_steps=6 trainer.progress_bar=false \
    trainer.tensorboard=false --sweep-dir "$out"
ssl-universal report "$out" --rows model.assignment
