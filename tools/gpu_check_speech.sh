#!/usr/bin/env bash
# Speech GPU check (a few minutes on one GPU): SCIENCE.md §5's pipeline at the `gpu` preset — a
# 6-layer HuBERT pre-trained in bf16, continued on m+g+r-distorted audio, then IC, KS and ASR on both
# frozen upstreams and on the reference upstreams fbank (log-mel) and random_init:small (the same HuBERT,
# untrained), tested clean / m+g+r / unseen noise — and the table `ssl-universal report` prints.
# Pre-training throughput on the GPU: python3 tools/bench_speech_pretrain.py --data "$work/data/mfcc" \
#     --preset gpu --device cuda --steps 100   (after this script, with SPEECH_CHECK_OUT=$work)
# The corpus needs espeak-ng and flite; where the GPU machine has neither, build it elsewhere and pass it:
#   ssl-universal make-speech-corpus --out data/speech_synth_gpu --scale 0.5 --rirs 8   (about 27 MB)
#   SPEECH_CORPUS=data/speech_synth_gpu tools/gpu_check_speech.sh
# Needs the package installed (pip install -e .: the speech commands are entry points); nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('device:', torch.cuda.get_device_name(0), '| torch', torch.__version__)"
corpus=${SPEECH_CORPUS:-data/speech_synth_gpu}
if [ ! -f "$corpus/corpus.json" ]; then
    if command -v espeak-ng >/dev/null && command -v flite >/dev/null; then
        python3 -m ssl_universal.cli make-speech-corpus --out "$corpus" --seed 0 --scale 0.5 --rirs 8 >/dev/null
    else
        echo "no corpus at $corpus and no espeak-ng/flite to build one: build it elsewhere and set SPEECH_CORPUS" >&2
        exit 1
    fi
fi
corpus=$(cd "$corpus" && pwd)
# Manifests name their audio folder by absolute path: point them at this copy of the corpus.
for manifest in "$corpus"/{ks,ic,sid,style,asr}/{train,test}.tsv; do
    sed -i "1s|.*|$corpus/audio|" "$manifest"
done
work=${SPEECH_CHECK_OUT:-$(mktemp -d)}
start=$SECONDS
python3 -m ssl_universal.cli speech-table --out "$work" --corpus "$corpus" --preset gpu --tasks ic,ks,asr "$@"
echo "speech GPU check: $((SECONDS - start)) s; outputs in $work"
