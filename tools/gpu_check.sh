#!/usr/bin/env bash
# GPU check (a few minutes on one GPU): the engine with fp32, bf16, fp16 and torch.compile, and the
# same run under a 1-GPU torchrun, on a generated task with a BERT-size encoder; prints throughput.
# With SPEECH_CORPUS=<folder made by `ssl-universal make-speech-corpus`> it also runs the speech check.
# Needs the package importable (pip install -e . or PYTHONPATH=.); nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('device:', torch.cuda.get_device_name(0), '| torch', torch.__version__)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m ssl_universal.cli new-plugin gpucheck --dir "$work/plugins" >/dev/null
python3 - "$work/bert" <<'PY'
import sys
from transformers import BertConfig
# A MiniLM-L6-shaped encoder (6 layers, 384 wide), random init: the check measures the engine, not the weights.
BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
           intermediate_size=1536, max_position_embeddings=512).save_pretrained(sys.argv[1])
PY
export SSL_UNIVERSAL_PLUGIN_DIRS="$work/plugins"
steps=${GPU_CHECK_STEPS:-300}
common=(recipe=gpucheck/demo model=seq_classifier "model.backbone=$work/bert" model.assignment=scratch
        task.num_train=20000 task.num_eval=1000 task.min_symbols=64 task.max_symbols=256
        trainer.max_steps=$steps trainer.batch_size=64 trainer.lr=3e-4 trainer.warmup_steps=30
        trainer.eval_every=$steps trainer.save_every=$steps trainer.log_every=20
        trainer.progress_bar=false trainer.tensorboard=false)
run() {  # name, then extra overrides
    local name=$1; shift
    local start=$SECONDS
    "${launcher[@]}" train "${common[@]}" "run_dir=$work/$name" "$@" > "$work/$name.log" 2>&1 \
        || { echo "FAILED: $name"; tail -30 "$work/$name.log"; exit 1; }
    echo "$name $((SECONDS - start))" >> "$work/wall.txt"
}
launcher=(python3 -m ssl_universal.cli)
run fp32 trainer.precision=fp32
run bf16 trainer.precision=bf16
run fp16 trainer.precision=fp16
run bf16_compile trainer.precision=bf16 trainer.compile=true
launcher=(python3 -m torch.distributed.run --standalone --nproc_per_node=1 -m ssl_universal.cli)
run torchrun_bf16 trainer.precision=bf16
python3 - "$work" <<'PY'
import json, statistics, sys
from pathlib import Path
work = Path(sys.argv[1])
wall = dict(line.split() for line in (work / "wall.txt").read_text().splitlines())
print(f"\n| run | examples/s (median, after warm-up) | tokens/s | test accuracy | wall s |")
print("|---|---|---|---|---|")
for name in wall:
    records = [json.loads(l) for l in (work / name / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in records if r["split"] == "train"][2:]  # skip warm-up (and compilation)
    results = json.loads((work / name / "results.json").read_text())
    print(f"| {name} | {statistics.median(r['examples_per_s'] for r in train):,.0f} | "
          f"{statistics.median(r['tokens_per_s'] for r in train):,.0f} | {results['test']['accuracy']:.1f} | {wall[name]} |")
PY
# The speech recipe (HuBERT continual training + downstream heads) at GPU size, when a corpus
# made by `ssl-universal make-speech-corpus` is given (the GPU machine may lack espeak-ng and flite).
if [ -n "${SPEECH_CORPUS:-}" ]; then
    bash tools/gpu_check_speech.sh
fi
