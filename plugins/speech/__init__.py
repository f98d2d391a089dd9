"""Speech plugin: audio manifests, distortions, a synthetic speech corpus and speech-unit extraction.

Modules (read top to bottom):
  audio        fairseq-style manifests and label files, streaming reads, resampling, batching
  distortions  batched noise/babble/reverberation at a target SNR (CPU or GPU)
  synth        the synthetic corpus: TTS voices, commands, noises, simulated rooms
  units        features (MFCC or HuBERT layer) -> k-means units, merged runs for spoken QA

Nothing is registered here yet: the speech Tasks arrive with the HuBERT recipes.
"""
