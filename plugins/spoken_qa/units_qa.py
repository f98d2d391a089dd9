"""End-to-end spoken QA on speech units (DUAL): ``[CLS] q [SEP] p [SEP]`` of merged units, a span over passage units.

Data: a dataset folder (:mod:`.dataset`: ``<split>.json`` with gold spans in seconds, ``<split>.ids``)
and a units folder (``<split>.merged.km`` / ``<split>.merged.cnt`` from the speech plugin's
``extract_units`` with ``merge: true``, lines in the order of ``<split>.ids``, and ``units.json``
whose ``label_rate`` gives the seconds per frame). Unit ``k`` is symbol ``u<k>`` of the tokenizer
``speech_units``; the transfer mechanism maps the symbols onto the backbone's text tokens
(``model.assignment``), with unit frequencies counted over the merged units of the train split.

Long inputs: the backbone (MiniLM) has 512 learned positions; passages are cut into windows of
``max_length`` positions overlapping by ``doc_stride`` units (as text QA does) rather than growing
the position table (``model.max_positions``), which would add untrained positions exactly where the
answers lie and quadratic attention cost on a CPU. Training uses the windows that hold the whole
answer; evaluation scores every window and keeps the best span of a question.

Decoding follows the reference's post-processing (DUAL-textless-SQA ``evaluate-dev.py``): the
``n_best`` best starts and ends by log-softmax, pairs with end >= start and at most
``max_answer_units`` units, ranked by ``(1 - end_weight)·log p(start) + end_weight·log p(end)``; here
only passage positions are candidates. The predicted unit span goes to seconds through the run
lengths: ``[frame·sum(cnt[:s]), frame·sum(cnt[:e + 1])]`` (the core's ``units_to_seconds``; the
reference ends at the *start* of the last unit). Scores are FF1/AOS of ``ssl_universal.sqa_eval``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ssl_universal.data.collate import pad_sequences
from ssl_universal.errors import ConfigError, DataError
from ssl_universal.metrics import unit_boundaries
from ssl_universal.schema import bounded
from ssl_universal.sqa_eval import SpanResolver, evaluate, load_gold
from ssl_universal.task import Task, TaskConfig
from ssl_universal.tokenizer import Tokenizer, TokenizerConfig

log = logging.getLogger(__name__)


@dataclass
class UnitTokenizerConfig(TokenizerConfig):
    """How many k-means units there are (must cover every unit id of the data)."""

    num_units: int = bounded(128, ge=1, le=30000)  # units u0..u{num_units-1}


class UnitTokenizer(Tokenizer):
    """Speech unit ``k`` is symbol ``u<k>`` with id ``k + 5`` (after the five specials), as DUAL offsets by 5."""

    Config = UnitTokenizerConfig

    def __init__(self, cfg: UnitTokenizerConfig | None = None):
        cfg = cfg or self.Config()
        super().__init__(cfg, symbols=[f"u{k}" for k in range(cfg.num_units)])
        self.offset = len(self.specials)

    def split(self, item: Any) -> list[str]:
        return [f"u{int(k)}" for k in (item.split() if isinstance(item, str) else item)]

    def unit_ids(self, units: list[int], where: str) -> list[int]:
        """Units → token ids; a unit outside 0..num_units-1 is a :class:`DataError` naming ``where``."""
        if units and not (0 <= min(units) and max(units) < self.cfg.num_units):
            raise DataError(f"{where}: unit ids {min(units)}..{max(units)} do not fit tokenizer.num_units="
                            f"{self.cfg.num_units}; set tokenizer.num_units to the K of the k-means")
        return [u + self.offset for u in units]


# -- unit index <-> seconds ---------------------------------------------------------------------
def seconds_to_units(counts: list[int], start: float, end: float, frame_seconds: float) -> tuple[int, int]:
    """The merged units a time span covers: the first unit ending after ``start`` and the last starting
    before ``end`` (the reference walks ``sec / 0.02`` over the cumulative counts the same way)."""
    bounds = unit_boundaries(counts, frame_seconds)
    first = int(np.searchsorted(bounds[1:], start + 1e-9, side="right"))
    last = int(np.searchsorted(bounds[:-1], end - 1e-9, side="left")) - 1
    first, last = min(first, len(counts) - 1), max(last, 0)
    return first, max(first, last)


def decode_span(start_logits: torch.Tensor, end_logits: torch.Tensor, allowed: torch.Tensor, n_best: int,
                max_answer: int, end_weight: float) -> tuple[float, int, int] | None:
    """(score, start, end) over ``allowed`` positions by the reference's top-k search; None if none allowed."""
    positions = torch.nonzero(allowed, as_tuple=False).flatten()
    if positions.numel() == 0:
        return None
    start_lp = torch.log_softmax(start_logits[positions].float(), -1)
    end_lp = torch.log_softmax(end_logits[positions].float(), -1)
    k = min(n_best, positions.numel())
    best = None
    for si in torch.topk(start_lp, k).indices.tolist():
        for ei in torch.topk(end_lp, k).indices.tolist():
            s, e = int(positions[si]), int(positions[ei])
            if e < s or e - s + 1 > max_answer:
                continue
            score = (1 - end_weight) * float(start_lp[si]) + end_weight * float(end_lp[ei])
            if best is None or score > best[0]:
                best = (score, s, e)
    if best is None:  # no valid pair among the top k: the best start, one unit long
        si = int(torch.argmax(start_lp))
        best = (float(start_lp[si]) + float(end_lp[si]), int(positions[si]), int(positions[si]))
    return best


@dataclass
class Utterance:
    units: list[int]
    counts: list[int]


@dataclass
class SpokenQuestion:
    qid: str
    context_id: str
    question: Utterance
    passage: Utterance
    span_seconds: tuple[float, float]
    span_units: tuple[int, int]


def passage_retrieval(questions: list[SpokenQuestion], ngram: int = 3) -> dict[str, Any]:
    """Can a question's units find its own passage among the split's passages? A front-end check, no training.

    Every question is copied from a sentence of its passage (cloze), so units that transcribe the *words* rather than
    the voice make the question's unit n-grams recur in its passage. Each question ranks the split's distinct
    passages by the cosine of TF-IDF vectors of merged-unit n-grams (``ngram``-grams, sublinear tf); recall@1 and
    the mean reciprocal rank are reported with their chance values (the passage drawn at random). Ties count
    against the gold passage, so constant scores give recall@1 0.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    passages: dict[str, list[int]] = {}
    for q in questions:
        passages.setdefault(q.context_id, q.passage.units)
    if not questions or len(passages) < 2:
        raise DataError(f"passage retrieval needs questions over at least 2 passages; got {len(questions)} question(s) "
                        f"over {len(passages)} passage(s)")
    ids = list(passages)

    def text(units: list[int]) -> str:
        return " ".join(f"u{u}" for u in units)

    vectorizer = TfidfVectorizer(token_pattern=r"\S+", ngram_range=(ngram, ngram), sublinear_tf=True, lowercase=False)
    vectorizer.fit([text(passages[c]) for c in ids] + [text(q.question.units) for q in questions])
    scores = (vectorizer.transform([text(q.question.units) for q in questions]) @ vectorizer.transform(
        [text(passages[c]) for c in ids]).T).toarray()
    gold = np.array([ids.index(q.context_id) for q in questions])
    own = scores[np.arange(len(questions)), gold]
    rank = (scores > own[:, None]).sum(1) + ((scores == own[:, None]).sum(1) - 1)  # ties: the gold passage last
    n = len(ids)
    return {"ngram": ngram, "questions": len(questions), "passages": n,
            "recall_at_1": float(np.mean(rank == 0) * 100), "chance_recall_at_1": 100.0 / n,
            "mrr": float(np.mean(1.0 / (rank + 1))), "chance_mrr": float(np.mean(1.0 / np.arange(1, n + 1)))}


def alignment_span(question: list[int], passage: list[int]) -> tuple[int, int]:
    """The passage units a cloze question leaves out, found by aligning the two unit sequences: no training.

    A cloze question is a sentence of its passage with the answer word replaced by "what", so where the units follow
    the words, the question aligns with a stretch of its passage except at one gap: the passage's answer against the
    question's "what". ``difflib.SequenceMatcher`` (no junk heuristic) aligns the merged units; among the
    differences between its first and last matching block, the largest *replacement* (units on both sides: the
    answer against "what") is taken, else the largest passage-only insertion. Returns an inclusive unit span of the
    passage (the whole passage when nothing aligns). A reference for what the units make possible, not a model:
    it knows the question type.
    """
    import difflib

    if not passage:
        raise DataError("alignment_span: an empty passage has no span")
    ops = difflib.SequenceMatcher(None, question, passage, autojunk=False).get_opcodes()
    equal = [i for i, op in enumerate(ops) if op[0] == "equal"]
    inside = ops[equal[0]:equal[-1] + 1] if equal else ops
    gaps = [op for op in inside if op[0] in ("replace", "insert")] or [op for op in ops if op[0] in ("replace", "insert")]
    if not gaps:
        return 0, len(passage) - 1
    *_, j1, j2 = max(gaps, key=lambda op: (op[0] == "replace", (op[2] - op[1]) + (op[4] - op[3])))
    return j1, max(j1, j2 - 1)


@dataclass
class UnitQAConfig(TaskConfig):
    """Spoken QA over merged speech units (paths are folders written by the spoken_qa commands)."""

    units_dir: str | None = None  # <split>.merged.km/.cnt and units.json (data_dir: the dataset with <split>.json/.ids)
    max_length: int = bounded(512, ge=16)  # positions per window: [CLS] q [SEP] p [SEP]
    doc_stride: int = bounded(128, ge=0)  # passage units shared by consecutive windows
    max_query_units: int = bounded(256, ge=1)  # longer questions are cut to their first units (counted, warned)
    max_answer_units: int = bounded(275, ge=1)  # longest predicted answer (the reference's 275)
    n_best: int = bounded(3, ge=1)  # top-k starts x top-k ends (the reference's 3)
    end_weight: float = bounded(0.6, ge=0, le=1)  # weight of the end log-probability (the reference's 0.6)
    limit_train: int | None = bounded(None, ge=1)  # keep the first N questions of train (smoke tests)
    limit_eval: int | None = bounded(None, ge=1)  # the same for valid and test
    predictions_dir: str | None = None  # write <split>.predictions.json + <split>.counts.tsv at every evaluation


class UnitQATask(Task):
    """Span extraction over passage units, scored by FF1/AOS (percent) on time spans."""

    Config = UnitQAConfig
    default_tokenizer = "speech_units"
    best_metric = "ff1"
    best_mode = "max"

    def __init__(self, cfg: UnitQAConfig, tokenizer: UnitTokenizer | None = None):
        super().__init__(cfg, tokenizer or UnitTokenizer())
        if cfg.data_dir is None or cfg.units_dir is None:
            raise ConfigError("task.data_dir (the spoken QA dataset) and task.units_dir (its merged units) are required; "
                              "`ssl-universal spoken-qa-table` writes both")
        if cfg.doc_stride >= cfg.max_length - cfg.max_query_units - 3:
            raise ConfigError(f"task.doc_stride={cfg.doc_stride} leaves no room to slide: it must be below max_length - "
                              f"max_query_units - 3 = {cfg.max_length - cfg.max_query_units - 3}")
        units_json = Path(cfg.units_dir) / "units.json"
        try:
            self.frame_seconds = 1.0 / float(json.loads(units_json.read_text())["label_rate"])
        except (OSError, KeyError, ValueError, TypeError) as err:
            raise DataError(f"{units_json}: expected the units summary with 'label_rate' (frames/s) ({err})") from None
        self.questions: dict[str, list[SpokenQuestion]] = {}
        self.windows: list[dict] = []  # global window id -> split, question index, passage start unit, offset
        self.data_report: dict[str, dict[str, int]] = {}  # per split: questions, windows, questions left without a window

    # -- reading ---------------------------------------------------------------------------
    def _utterances(self, split: str) -> dict[str, Utterance]:
        data, units = Path(self.cfg.data_dir), Path(self.cfg.units_dir)
        paths = [data / f"{split}.ids", units / f"{split}.merged.km", units / f"{split}.merged.cnt"]
        for path in paths:
            if not path.is_file():
                raise DataError(f"{path} not found (the units of split {split!r}; extract them with merge: true)")
        ids, kms, cnts = (p.read_text(encoding="utf-8").splitlines() for p in paths)
        if not len(ids) == len(kms) == len(cnts):
            raise DataError(f"{paths[0]} has {len(ids)} lines but {paths[1]} {len(kms)} and {paths[2]} {len(cnts)}; "
                            "they must describe the same utterances in the same order")
        out = {}
        for line_no, (uid, km, cnt) in enumerate(zip(ids, kms, cnts), 1):
            try:
                u, c = [int(x) for x in km.split()], [int(x) for x in cnt.split()]
            except ValueError:
                raise DataError(f"{paths[1]}:{line_no} or {paths[2]}:{line_no}: expected integers") from None
            if len(u) != len(c) or not u:
                raise DataError(f"{paths[1]}:{line_no}: {len(u)} units but {len(c)} run lengths in {paths[2]}:{line_no}")
            out[uid] = Utterance(u, c)
        return out

    def read(self, split: str) -> list[SpokenQuestion]:
        if split in self.questions:
            return self.questions[split]
        gold_path = Path(self.cfg.data_dir) / f"{split}.json"
        utterances = self._utterances(split)
        document = json.loads(gold_path.read_text(encoding="utf-8"))
        questions = []
        for a, article in enumerate(document.get("data", [])):
            for p, paragraph in enumerate(article.get("paragraphs", [])):
                key = f"context-{paragraph.get('context_id')}"
                for q, qa in enumerate(paragraph.get("qas", [])):
                    where = f"{gold_path}: data[{a}].paragraphs[{p}].qas[{q}]"
                    if key not in utterances or qa.get("id") not in utterances:
                        raise DataError(f"{where}: no units for {key!r} or question {qa.get('id')!r} in {split}.ids")
                    answer = (qa.get("answers") or [{}])[0]
                    if "start_time" not in answer or "end_time" not in answer:
                        raise DataError(f"{where}.answers[0]: needs start_time and end_time (seconds)")
                    passage = utterances[key]
                    span = (float(answer["start_time"]), float(answer["end_time"]))
                    questions.append(SpokenQuestion(str(qa["id"]), str(paragraph["context_id"]), utterances[qa["id"]],
                                                    passage, span, seconds_to_units(passage.counts, *span, self.frame_seconds)))
        limit = self.cfg.limit_train if split == "train" else self.cfg.limit_eval
        self.questions[split] = questions[:limit] if limit else questions
        return self.questions[split]

    def symbol_counts(self, split: str = "train") -> Counter:
        """Unit frequencies over the merged units of every utterance of ``split`` (each passage once)."""
        counts: Counter = Counter()
        seen = set()
        for question in self.read(split):
            for key, utt in ((question.qid, question.question), ("context-" + question.context_id, question.passage)):
                if key not in seen:
                    seen.add(key)
                    counts.update(u + self.tokenizer.offset for u in utt.units)
        return counts

    # -- windows ---------------------------------------------------------------------------
    def load_split(self, split: str) -> list[dict]:
        cfg, tok = self.cfg, self.tokenizer
        features, unplaced, cut = [], 0, 0
        for index, question in enumerate(self.read(split)):
            before = len(features)
            cut += len(question.question.units) > cfg.max_query_units
            q_ids = tok.unit_ids(question.question.units[: cfg.max_query_units], f"question {question.qid}")
            p_ids = tok.unit_ids(question.passage.units, f"passage {question.context_id}")
            offset = len(q_ids) + 2
            room = cfg.max_length - offset - 1
            step = max(1, room - cfg.doc_stride)
            s_unit, e_unit = question.span_units
            for w0 in range(0, max(1, len(p_ids) - cfg.doc_stride), step):
                piece = p_ids[w0: w0 + room]
                inside = w0 <= s_unit and e_unit < w0 + len(piece)
                if split == "train" and not inside:
                    continue  # a window without the whole answer teaches nothing with passage-only spans
                window_id = len(self.windows)
                self.windows.append({"split": split, "question": index, "w0": w0, "offset": offset, "length": len(piece)})
                features.append({
                    "input_ids": [tok.cls_id, *q_ids, tok.sep_id, *piece, tok.sep_id],
                    "token_type_ids": [0] * offset + [1] * (len(piece) + 1),
                    "start_position": offset + s_unit - w0 if inside else 0,
                    "end_position": offset + e_unit - w0 if inside else 0,
                    "window_id": window_id,
                })
                if w0 + room >= len(p_ids):
                    break
            unplaced += len(features) == before
        self.data_report[split] = {"questions": len(self.read(split)), "windows": len(features),
                                   "questions_without_window": unplaced, "questions_cut": cut}
        if cut:  # the cut units are lost to the model: a cloze question may lose its "what"
            log.warning("%s: %d of %d questions are longer than task.max_query_units=%d and are cut to their first "
                        "%d units; raise task.max_query_units (and task.max_length) to keep them whole", split, cut,
                        len(self.read(split)), cfg.max_query_units, cfg.max_query_units)
        if unplaced:  # only in train: no window holds the whole answer (longer than a window's passage part)
            log.warning("%s: %d of %d questions have no training window holding their whole answer and are not "
                        "trained on; raise task.max_length or lower task.max_query_units", split, unplaced,
                        len(self.read(split)))
        return features

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        input_ids, attention_mask = pad_sequences([e["input_ids"] for e in examples], self.tokenizer.pad_id)
        token_type_ids, _ = pad_sequences([e["token_type_ids"] for e in examples], 0)
        passage_mask = torch.zeros_like(attention_mask)
        for row, example in enumerate(examples):
            window = self.windows[example["window_id"]]
            passage_mask[row, window["offset"]: window["offset"] + window["length"]] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids,
                "passage_mask": passage_mask,
                "start_positions": torch.tensor([e["start_position"] for e in examples], dtype=torch.long),
                "end_positions": torch.tensor([e["end_position"] for e in examples], dtype=torch.long),
                "window_ids": torch.tensor([e["window_id"] for e in examples], dtype=torch.long)}

    # -- model side ------------------------------------------------------------------------
    @property
    def num_labels(self) -> int:
        return 2

    def loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        outputs = model(**{k: v for k, v in batch.items() if k != "window_ids"})
        return outputs["loss"], outputs

    def eval_step(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict:
        loss, outputs = self.loss(model, batch)
        starts, ends = outputs["start_logits"].detach().float().cpu(), outputs["end_logits"].detach().float().cpu()
        allowed = batch["passage_mask"].bool().cpu()
        candidates = []
        for row, window_id in enumerate(batch["window_ids"].tolist()):
            window = self.windows[window_id]
            found = decode_span(starts[row], ends[row], allowed[row], self.cfg.n_best, self.cfg.max_answer_units,
                                self.cfg.end_weight)
            if found is not None:
                score, s, e = found
                base = window["w0"] - window["offset"]
                candidates.append((window["split"], window["question"], score, s + base, e + base))
        return {"loss": float(loss), "n": len(candidates), "candidates": candidates}

    def predictions(self, steps: list[dict]) -> tuple[str, dict[str, dict]]:
        """The split and, per question id, the best ``{"start_unit", "end_unit"}`` over its windows."""
        best: dict[tuple[str, int], tuple[float, int, int]] = {}
        for step in steps:
            for split, index, score, s, e in step["candidates"]:
                if (split, index) not in best or score > best[(split, index)][0]:
                    best[(split, index)] = (score, s, e)
        splits = {split for split, _ in best}
        if len(splits) != 1:
            raise DataError(f"one evaluation mixed the splits {sorted(splits)}")
        split = splits.pop()
        questions = self.read(split)
        return split, {questions[i].qid: {"start_unit": s, "end_unit": e} for (_, i), (_, s, e) in best.items()}

    def score(self, steps: list[dict]) -> dict[str, float]:
        split, predicted = self.predictions(steps)
        questions = self.read(split)
        counts = {q.context_id: q.passage.counts for q in questions}
        gold = [g for g in load_gold(Path(self.cfg.data_dir) / f"{split}.json") if g.qid in {q.qid for q in questions}]
        resolver = SpanResolver(counts, None, self.frame_seconds)
        report = evaluate(gold, predicted, mode="span", resolver=resolver)
        if self.cfg.predictions_dir:
            self.write_predictions(Path(self.cfg.predictions_dir), split, predicted, counts, gold)
        return {"ff1": report["overall"]["ff1"], "aos": report["overall"]["aos"]}

    def write_predictions(self, folder: Path, split: str, predicted: dict, counts: dict, gold) -> None:
        """What ``ssl-universal eval-sqa`` reads: predictions, run lengths per passage, the gold of the scored questions."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{split}.predictions.json").write_text(json.dumps(predicted, indent=1) + "\n", encoding="utf-8")
        (folder / f"{split}.counts.tsv").write_text(
            "".join(f"{k}\t{' '.join(map(str, v))}\n" for k, v in counts.items()), encoding="utf-8")
        (folder / "frame_seconds.txt").write_text(f"{self.frame_seconds}\n", encoding="utf-8")
        if self.cfg.limit_eval or self.cfg.limit_train:  # the gold of just the scored questions, for eval-sqa
            keep = {g.qid for g in gold}
            document = json.loads((Path(self.cfg.data_dir) / f"{split}.json").read_text(encoding="utf-8"))
            for article in document["data"]:
                for paragraph in article["paragraphs"]:
                    paragraph["qas"] = [qa for qa in paragraph["qas"] if qa["id"] in keep]
                article["paragraphs"] = [p for p in article["paragraphs"] if p["qas"]]
            (folder / f"{split}.gold.json").write_text(json.dumps(document) + "\n", encoding="utf-8")
