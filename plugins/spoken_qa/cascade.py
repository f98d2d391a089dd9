"""The cascade baseline: pocketsphinx ASR of passages and questions, then text QA on the transcripts (EM/F1).

1. :func:`transcribe` runs pocketsphinx (its en-us acoustic model and language model) on every
   passage and question of a split and writes ``asr/<split>.transcripts.json``; :func:`asr_wer`
   scores them against the spoken text (lower case, words only) with ``ssl_universal.metrics.wer``.
2. The text QA model is the text plugin's ``extractive_qa`` recipe on the packaged BERT (MiniLM),
   fine-tuned on the *gold text* of the train split (the dataset's ``train.json`` is SQuAD-shaped).
3. :func:`asr_squad` writes the split again with the transcripts as context and question; an answer
   the transcript lacks cannot be pointed at, so such a question carries a placeholder answer (the
   transcript's first word) that only satisfies the reader. :func:`predict_texts` runs the trained
   model over a SQuAD file and :func:`score_texts` scores the predicted texts with ``sqa_eval``
   (SQuAD EM/F1) against the *real* gold answers, for the gold text (upper bound) and the transcripts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import soundfile as sf

from ssl_universal.errors import DataError
from ssl_universal.metrics import wer
from ssl_universal.sqa_eval import evaluate, load_gold

from .timing import recognize


def normalise(text: str) -> str:
    """Lower-case words without punctuation, as the recogniser spells them."""
    return " ".join(re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower()))


def transcribe(data_dir: Path, split: str, out: Path, limit: int | None = None) -> dict:
    """pocketsphinx transcripts of the passages and questions of ``split`` (cached in ``out``)."""
    path = out / f"{split}.transcripts.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    document = json.loads((data_dir / f"{split}.json").read_text(encoding="utf-8"))
    audio = data_dir / "audio"
    transcripts: dict[str, dict] = {"contexts": {}, "questions": {}}
    done = 0
    for article in document["data"]:
        for paragraph in article["paragraphs"]:
            if limit is not None and done >= limit:
                break
            done += 1
            wave, _ = sf.read(str(audio / paragraph["audio"]), dtype="float32")
            transcripts["contexts"][paragraph["context_id"]] = {"gold": paragraph["context"], "asr": recognize(wave)}
            for qa in paragraph["qas"]:
                wave, _ = sf.read(str(audio / qa["audio"]), dtype="float32")
                transcripts["questions"][qa["id"]] = {"gold": qa["question"], "asr": recognize(wave)}
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(transcripts, indent=1) + "\n", encoding="utf-8")
    return transcripts


def asr_wer(transcripts: dict) -> dict:
    """WER (percent) of passages and of questions."""
    out = {}
    for kind, key in (("passages", "contexts"), ("questions", "questions")):
        pairs = list(transcripts[key].values())
        if pairs:
            out[kind] = wer([normalise(p["gold"]) for p in pairs], [p["asr"] or "<empty>" for p in pairs])
    return out


def asr_squad(data_dir: Path, split: str, transcripts: dict, out: Path) -> tuple[Path, int]:
    """``split`` with transcripts as text (SQuAD shape); returns the file and how many answers the transcripts hold."""
    document = json.loads((data_dir / f"{split}.json").read_text(encoding="utf-8"))
    found = 0
    paragraphs = []
    for article in document["data"]:
        for paragraph in article["paragraphs"]:
            if paragraph["context_id"] not in transcripts["contexts"]:
                continue
            context = transcripts["contexts"][paragraph["context_id"]]["asr"] or "silence"
            qas = []
            for qa in paragraph["qas"]:
                gold = qa["answers"][0]["text"]
                at = re.search(rf"\b{re.escape(gold.lower())}\b", context)
                if at:
                    found += 1
                    answer = {"text": context[at.start(): at.end()], "answer_start": at.start()}
                else:
                    first = context.split()[0]
                    answer = {"text": first, "answer_start": 0}  # placeholder: scored against the real gold
                qas.append({"id": qa["id"], "question": transcripts["questions"][qa["id"]]["asr"] or "what",
                            "answers": [answer]})
            paragraphs.append({"context": context, "context_id": paragraph["context_id"], "qas": qas})
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{split}.json"
    path.write_text(json.dumps({"version": "asr", "data": [{"title": "asr", "paragraphs": paragraphs}]}) + "\n",
                    encoding="utf-8")
    return path, found


def predict_texts(run_dir: Path, data_dir: Path, split: str) -> dict[str, str]:
    """Answer texts of a trained ``extractive_qa`` run on ``data_dir/<split>.json`` (question id → text)."""
    import torch
    from omegaconf import OmegaConf

    from ssl_universal.config import load_config
    from ssl_universal.engine.checkpoint import load_weights
    from ssl_universal.run import build, seed_everything

    base = OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml"), resolve=True)
    cfg = load_config([f"task.data_dir={data_dir}"], base=base)
    seed_everything(cfg.seed)
    task, model = build(cfg)
    model.load_state_dict(load_weights(run_dir / "best" / "model.safetensors"))
    model.eval()
    data = task.dataset(split)
    steps = []
    with torch.no_grad():
        for start in range(0, len(data), 32):
            steps.append(task.eval_step(model, task.collate([data[i] for i in range(start, min(start + 32, len(data)))])))
    predicted = task.predictions(steps)  # example index (in the order the task read them) -> text
    examples = task._examples
    return {examples[k].qid: text for k, text in predicted.items()}


def score_texts(gold_json: Path, predictions: dict[str, str]) -> dict:
    """SQuAD EM/F1 (percent) of answer texts through ``ssl_universal.sqa_eval``."""
    questions = load_gold(gold_json)
    if not questions:
        raise DataError(f"{gold_json}: no questions")
    return evaluate(questions, predictions, mode="text")["overall"]
