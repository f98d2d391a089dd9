"""Speech plugin: audio manifests, distortions, a synthetic speech corpus and speech-unit extraction.

Modules (read top to bottom; README.md beside this file shows the formats and commands):
  audio        fairseq-style manifests and label files, streaming reads, resampling, batching
  distortions  batched noise/babble/reverberation at a target SNR (CPU or GPU)
  tts, texts, noises, corpus   the synthetic corpus: voices, what they say, noises, the builder
  units        features (MFCC or HuBERT layer) -> k-means units, merged runs for spoken QA

Nothing is registered here yet: the speech Tasks arrive with the HuBERT recipes.
"""
