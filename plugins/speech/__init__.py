"""Speech plugin: audio data, distortions, a synthetic corpus, speech units, HuBERT and SUPERB-style tasks.

Modules (read top to bottom; README.md beside this file shows the formats and commands):
  audio        fairseq-style manifests and label files, streaming reads, resampling, batching
  distortions  batched noise/babble/reverberation at a target SNR (CPU or GPU)
  tts, texts, noises, corpus   the synthetic corpus: voices, what they say, noises, the builder
  units        features (MFCC or HuBERT layer) -> k-means units, merged runs for spoken QA
  upstreams    HuBERT sizes; run directories, Hugging Face folders and torchaudio files as upstreams
  hubert       the masked-unit prediction model (span masks, cosine logits, domain-adversarial head)
  pretrain     the pre-training / continual-training task (units as targets, distortions on the fly)
  conditions   clean, m+g+r and unseen-noise test conditions, applied per utterance with a fixed seed
  superb       downstream tasks on a frozen upstream (KS, IC, SID, ER, ASR) and their model
"""

from ssl_universal.registry import register_model, register_task

from .hubert import build_hubert
from .pretrain import HubertPretrainTask
from .superb import CtcAsrTask, UtteranceClassificationTask, build_downstream

register_task("hubert_pretrain")(HubertPretrainTask)
register_model("hubert")(build_hubert)
register_task("superb_classification")(UtteranceClassificationTask)
register_task("superb_asr")(CtcAsrTask)
register_model("superb_downstream")(build_downstream)
