"""SCIENCE.md §6 end to end: ``ssl-universal spoken-qa-table`` builds the dataset, extracts units, trains every
assignment row over seeds, runs the cascade, and prints the tables.

    ssl-universal spoken-qa-table --out runs/spoken_qa                    # the default sizes (hours on 2 cores)
    OMP_NUM_THREADS=1 ssl-universal spoken-qa-table --out runs/sqa_quick --preset quick   # < 15 min on 2 cores

Stages, each skipped when its output exists (an interrupted command resumes): the dataset
(:mod:`.dataset`); k-means units with merged runs for each K (the speech plugin's ``extract_units``) of MFCC
frames, or of a HuBERT layer with ``--units-from FOLDER --units-layer L`` (a Hugging Face HuBERT folder, e.g. a
speech pre-training run's ``best/hf``; units and runs then go under ``units/hubert_l<L>/`` and ``runs/hubert_l<L>/``,
and a folder made from another checkpoint or layer is refused); one ``spoken_qa/dual`` run per row × seed (in this process, through the core's
``ssl_universal.run.train``); trivial references (a random span of the mean train answer length,
the whole passage) scored by ``sqa_eval``; the cascade (:mod:`.cascade`): pocketsphinx ASR of the
test split, the text plugin's ``text/qa`` on the gold train text per seed, EM/F1 on gold text and on
transcripts. Then ``ssl-universal report`` of the rows (FF1, AOS, mean ± std) and the summary tables.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

from ssl_universal.errors import SSLUniversalError
from ssl_universal.stages import Stages

ROWS = ("most_frequent", "least_frequent", "random", "reinit", "scratch")
PRESETS = {
    "default": {"dataset": {"train": 400, "valid": 50, "test": 100}, "clusters": [128], "seeds": [0, 1, 2],
                "recipe": [], "qa": ["trainer.max_steps=400", "trainer.eval_every=100"], "asr_limit": None},
    "quick": {"dataset": {"train": 120, "valid": 16, "test": 30, "max_fortune_chars": 100, "check_alignment": 10},
              "clusters": [64], "seeds": [0, 1, 2], "recipe": ["preset=quick"],
              "qa": ["trainer.max_steps=40", "trainer.eval_every=40", "trainer.save_every=40", "trainer.warmup_steps=4"],
              "asr_limit": None},
    "smoke": {"dataset": {"train": 6, "valid": 3, "test": 3, "max_fortune_chars": 90, "check_alignment": 2},
              "clusters": [16], "seeds": [0], "recipe": ["preset=smoke"],
              "qa": ["trainer.max_steps=2", "trainer.eval_every=2", "trainer.save_every=2", "trainer.batch_size=4",
                     "model.num_layers=1", "trainer.warmup_steps=0"], "asr_limit": 2},
}


class Pipeline(Stages):
    def __init__(self, args: argparse.Namespace):
        self.args, self.preset = args, PRESETS[args.preset]
        self.out = Path(args.out).resolve()
        self.data = self.out / "data"
        super().__init__()
        if args.seeds:
            self.preset = {**self.preset, "seeds": [int(s) for s in args.seeds.split(",")]}
        if args.clusters:
            self.preset = {**self.preset, "clusters": [int(k) for k in args.clusters.split(",")]}
        threads = os.environ.get("OMP_NUM_THREADS")
        self.threads = [f"trainer.threads={threads}"] if threads else []
        # the front end: MFCC frames (folders units/k<K>, runs/k<K>) or a HuBERT layer (units/hubert_l<L>/k<K>, ...)
        self.hubert = str(Path(args.units_from).resolve()) if args.units_from else None
        self.front = f"hubert_l{args.units_layer}" if self.hubert else ""
        self.front_name = f"HuBERT layer {args.units_layer} units" if self.hubert else "MFCC units"

    def units_dir(self, k: int) -> Path:
        return self.out / "units" / self.front / f"k{k}"

    def runs_dir(self, k: int) -> Path:
        return self.out / "runs" / self.front / f"k{k}"

    def check_units(self, k: int) -> None:
        """Units already under OUT must come from the asked front end, or its runs would be mixed with another's."""
        path = self.units_dir(k) / "units.json"
        if not path.exists():
            return
        saved = json.loads(path.read_text()).get("config", {})
        asked = self.unit_config(k)
        differ = [key for key in ("feature", "checkpoint", "layer", "n_clusters", "seed")
                  if saved.get(key) != getattr(asked, key)]
        if differ:
            what = ", ".join(f"{key}: {saved.get(key)!r} there, {getattr(asked, key)!r} asked" for key in differ)
            raise SSLUniversalError(f"{path} was made with other settings ({what}); use another --out")

    def train(self, overrides: list[str]) -> dict:
        from ssl_universal.config import load_config
        from ssl_universal.run import train

        return train(load_config([*overrides, "trainer.progress_bar=false", *self.threads, *self.args.override]))

    def dataset_config(self):
        from .dataset import SpokenQAConfig

        return SpokenQAConfig(out=str(self.data), seed=self.args.data_seed, question_voice=self.args.question_voice,
                              **self.preset["dataset"])

    def check_dataset(self) -> None:
        """A dataset already under OUT must be the asked one: its runs and units would otherwise be mixed in."""
        from dataclasses import asdict

        path = self.data / "dataset.json"
        if not path.exists():
            return
        saved = json.loads(path.read_text()).get("config", {})
        asked = asdict(self.dataset_config())
        default = {"question_voice": "flite"}  # datasets written before the key existed
        differ = sorted(k for k in asked if k not in ("out", "workers") and saved.get(k, default.get(k)) != asked[k])
        if differ:
            what = ", ".join(f"{k}: {saved.get(k, default.get(k))!r} there, {asked[k]!r} asked" for k in differ)
            raise SSLUniversalError(f"{path} was built with other settings ({what}); use another --out")

    def dataset(self) -> None:
        from .dataset import build_dataset

        build_dataset(self.dataset_config())

    def unit_config(self, k: int):
        from ssl_universal_plugins.speech.units import UnitConfig

        front = (dict(feature="hubert", checkpoint=self.hubert, layer=self.args.units_layer) if self.hubert
                 else dict(feature="mfcc", label_rate=100.0))
        return UnitConfig(manifest_dir=str(self.data), out_dir=str(self.units_dir(k)), splits=("train", "valid", "test"),
                          n_clusters=k, batch_size=4000, merge=True, seed=self.args.data_seed, **front)

    def units(self, k: int) -> None:
        from ssl_universal_plugins.speech.units import extract_units

        extract_units(self.unit_config(k))

    def run(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        self.check_dataset()
        self.stage("dataset", self.data / "dataset.json", self.dataset)
        for k in self.preset["clusters"]:
            self.check_units(k)
        for k in self.preset["clusters"]:
            units = self.units_dir(k)
            self.stage(f"{self.front_name} K={k}", units / "units.json", lambda k=k: self.units(k))
            for row in ROWS:
                for seed in self.preset["seeds"]:
                    run_dir = self.runs_dir(k) / row / f"seed{seed}"
                    self.stage(f"K={k} {row} seed {seed}", run_dir / "results.json", lambda run_dir=run_dir, row=row, seed=seed, units=units, k=k: self.train([
                        "recipe=spoken_qa/dual", *self.preset["recipe"], f"row={row}", f"seed={seed}", f"run_dir={run_dir}",
                        f"task.data_dir={self.data}", f"task.units_dir={units}", f"tokenizer.num_units={k}",
                        f"task.predictions_dir={run_dir / 'predictions'}"]))
            self.stage(f"references K={k}", units / "references.json", lambda units=units: self.references(units))
            self.stage(f"passage retrieval K={k}", units / "retrieval.json", lambda units=units: self.retrieval(units))
            self.stage(f"unit alignment K={k}", units / "alignment.json", lambda units=units: self.alignment(units))
        self.stage("cascade", self.out / "cascade" / "cascade.json", self.cascade)
        self.timings["total"] = round(time.perf_counter() - start, 1)
        self.tables()

    def unit_task(self, units: Path):
        """The spoken_qa_units task over this dataset and a units folder ``k<K>`` (for the no-training references)."""
        from .units_qa import UnitQAConfig, UnitQATask, UnitTokenizer, UnitTokenizerConfig

        return UnitQATask(UnitQAConfig(data_dir=str(self.data), units_dir=str(units)),
                          UnitTokenizer(UnitTokenizerConfig(num_units=int(units.name[1:]))))

    def retrieval(self, units: Path) -> None:
        """Front-end check: recall@1 of a question's own passage from unit n-grams (units_qa.passage_retrieval)."""
        from .units_qa import passage_retrieval

        task = self.unit_task(units)
        results = {split: {str(n): passage_retrieval(task.read(split), n) for n in (1, 2, 3)} for split in ("train", "test")}
        (units / "retrieval.json").write_text(json.dumps(results, indent=2) + "\n")

    def alignment(self, units: Path) -> None:
        """A hand reference (units_qa.alignment_span): the gap where a cloze question's units align with its passage's."""
        from ssl_universal.sqa_eval import SpanResolver, evaluate, load_gold

        from .units_qa import alignment_span

        task = self.unit_task(units)
        results = {}
        for split in ("valid", "test"):
            questions = task.read(split)
            predicted = {}
            for q in questions:
                start, end = alignment_span(q.question.units, q.passage.units)
                predicted[q.qid] = {"start_unit": start, "end_unit": end}
            resolver = SpanResolver({q.context_id: q.passage.counts for q in questions}, None, task.frame_seconds)
            results[split] = evaluate(load_gold(self.data / f"{split}.json"), predicted, mode="span", resolver=resolver)["overall"]
        (units / "alignment.json").write_text(json.dumps(results, indent=2) + "\n")

    def references(self, units: Path) -> None:
        """Trivial floors through sqa_eval: a random span of the mean train answer length, and the whole passage."""
        from ssl_universal.sqa_eval import SpanResolver, evaluate, load_gold

        task = self.unit_task(units)
        train = task.read("train")
        length = max(1, round(sum(q.span_units[1] - q.span_units[0] + 1 for q in train) / len(train)))
        test = task.read("test")
        counts = {q.context_id: q.passage.counts for q in test}
        gold = load_gold(self.data / "test.json")
        resolver = SpanResolver(counts, None, task.frame_seconds)
        results = {"answer_units": length}
        scores = []
        for seed in range(100):  # 100 draws: the mean is the expected score of guessing, the std its spread
            rng = random.Random(seed)
            predicted = {}
            for q in test:
                n = len(q.passage.units)
                s = rng.randrange(max(1, n - length + 1))
                predicted[q.qid] = {"start_unit": s, "end_unit": min(n - 1, s + length - 1)}
            scores.append(evaluate(gold, predicted, mode="span", resolver=resolver)["overall"])
        results["random_span"] = scores
        whole = {q.qid: {"start_unit": 0, "end_unit": len(q.passage.units) - 1} for q in test}
        results["whole_passage"] = evaluate(gold, whole, mode="span", resolver=resolver)["overall"]
        (units / "references.json").write_text(json.dumps(results, indent=2) + "\n")

    def cascade(self) -> None:
        from . import cascade

        folder = self.out / "cascade"
        transcripts = {split: cascade.transcribe(self.data, split, folder / "asr", self.preset["asr_limit"])
                       for split in ("test",)}
        wer = {split: cascade.asr_wer(t) for split, t in transcripts.items()}
        asr_json, found = cascade.asr_squad(self.data, "test", transcripts["test"], folder / "asr")
        kept = set(transcripts["test"]["contexts"])
        gold_json = folder / "test.gold.json"  # the gold of the transcribed questions
        document = json.loads((self.data / "test.json").read_text())
        for article in document["data"]:
            article["paragraphs"] = [p for p in article["paragraphs"] if p["context_id"] in kept]
        gold_json.write_text(json.dumps(document) + "\n")
        gold_dir = folder / "gold_text"
        gold_dir.mkdir(exist_ok=True)
        (gold_dir / "test.json").write_text(gold_json.read_text())
        runs = []
        for seed in self.preset["seeds"]:
            run_dir = folder / "text_qa" / f"seed{seed}"
            if not (run_dir / "results.json").is_file():
                self.train(["recipe=text/qa", f"seed={seed}", f"run_dir={run_dir}", f"task.data_dir={self.data}",
                            "trainer.tensorboard=false", *self.preset["qa"]])
            gold = cascade.score_texts(gold_json, cascade.predict_texts(run_dir, gold_dir, "test"))
            asr = cascade.score_texts(gold_json, cascade.predict_texts(run_dir, asr_json.parent, "test"))
            runs.append({"seed": seed, "gold_text": gold, "asr": asr})
        (folder / "cascade.json").write_text(json.dumps({"wer": wer, "answers_in_transcripts": found,
                                                         "questions": len(transcripts["test"]["questions"]),
                                                         "runs": runs}, indent=2) + "\n")

    def tables(self) -> None:
        from ssl_universal.reporting import mean_std, report_main

        from .dataset import summary_table

        cascade = json.loads((self.out / "cascade" / "cascade.json").read_text())
        summary = json.loads((self.data / "dataset.json").read_text())
        lines = ["## Dataset", "", summary_table(summary, cascade["wer"]), "",
                 f"Word timings: espeak-ng marks vs pocketsphinx alignment on {summary['alignment_check']['utterances']} "
                 f"passages: median |Δ word start| {summary['alignment_check']['median_word_start_ms']} ms, median answer-edge "
                 f"disagreement {summary['alignment_check']['median_answer_edge_ms']} ms (p90 "
                 f"{summary['alignment_check']['p90_answer_edge_ms']} ms). WER on the test split (pocketsphinx).", ""]
        for k in self.preset["clusters"]:
            runs, units = self.runs_dir(k), self.units_dir(k)
            report_main([str(runs), "--rows", "row", "--split", "test", "--metrics", "ff1,aos", "--no-plot"])
            lines += [f"## End to end on {self.front_name}, K={k} (test split, FF1/AOS %)", "", (runs / "report.md").read_text().strip(), ""]
            refs = json.loads((units / "references.json").read_text())
            ff1 = mean_std([r["ff1"] for r in refs["random_span"]])
            aos = mean_std([r["aos"] for r in refs["random_span"]])
            lines += [f"References (no training): random span of {refs['answer_units']} units (the mean train answer), "
                      f"100 draws: FF1 {ff1[0]:.2f} ± {ff1[1]:.2f}, "
                      f"AOS {aos[0]:.2f} ± {aos[1]:.2f}; whole passage FF1 {refs['whole_passage']['ff1']:.2f}, "
                      f"AOS {refs['whole_passage']['aos']:.2f}.", ""]
            aligned = json.loads((units / "alignment.json").read_text())["test"]
            lines += [f"Hand reference (no training; it knows the question type): the gap where the question's units align "
                      f"with its passage's (`units_qa.alignment_span`): FF1 {aligned['ff1']:.2f}, AOS {aligned['aos']:.2f}.", ""]
            retrieval = json.loads((units / "retrieval.json").read_text())
            lines += ["Front-end check (no training): each question ranks its split's passages by the TF-IDF cosine of "
                      "merged-unit n-grams; recall@1 of its own passage, % (chance):", "",
                      "| split | questions | passages | 1-grams | 2-grams | 3-grams | chance |", "|---|---:|---:|---:|---:|---:|---:|"]
            for split, by_n in retrieval.items():
                first = by_n["1"]
                lines.append(f"| {split} | {first['questions']} | {first['passages']} | "
                             + " | ".join(f"{by_n[n]['recall_at_1']:.1f}" for n in ("1", "2", "3"))
                             + f" | {first['chance_recall_at_1']:.1f} |")
            lines.append("")
        rows = ["| cascade (pocketsphinx → text QA) | EM | F1 |", "|---|---|---|"]
        for name, key in (("gold text (upper bound)", "gold_text"), ("ASR transcripts", "asr")):
            em = mean_std([r[key]["exact_match"] for r in cascade["runs"]])
            f1 = mean_std([r[key]["f1"] for r in cascade["runs"]])
            rows.append(f"| {name} | {em[0]:.2f} ± {em[1]:.2f} | {f1[0]:.2f} ± {f1[1]:.2f} |")
        lines += ["## Cascade (test split)", "", *rows, "",
                  f"{cascade['answers_in_transcripts']} of {cascade['questions']} answers occur in their passage's transcript.",
                  "", f"Stage timings (s): {json.dumps(self.timings)}"]
        text = "\n".join(lines) + "\n"
        (self.out / "table.md").write_text(text)
        print(text)


def main(argv: list[str]) -> int:
    """``ssl-universal spoken-qa-table``: run (or resume) every stage, then print the tables."""
    parser = argparse.ArgumentParser(prog="ssl-universal spoken-qa-table", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--out", default="runs/spoken_qa", help="everything is written here")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default", help="sizes and steps")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds (default: the preset's 0,1,2)")
    parser.add_argument("--clusters", default=None, help="comma-separated K of the k-means units (64,128,512)")
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the dataset and the k-means")
    parser.add_argument("--question-voice", choices=("flite", "passage"), default="flite",
                        help="flite: the dataset proper; passage: the same-voice control (each question in its "
                             "passage's espeak-ng voice)")
    parser.add_argument("--units-from", default=None, metavar="FOLDER",
                        help="units of a HuBERT layer instead of MFCC frames: a Hugging Face HuBERT folder (a speech "
                             "pre-training run's best/hf) or a run directory holding one; needs --units-layer")
    parser.add_argument("--units-layer", type=int, default=None, metavar="L", help="1-based transformer layer of --units-from")
    parser.add_argument("--override", action="append", default=[], help="key=value added to every training run")
    args = parser.parse_args(argv)
    if (args.units_from is None) != (args.units_layer is None):
        parser.error("--units-from and --units-layer go together (a HuBERT folder and the layer whose output is clustered)")
    if args.units_from and not Path(args.units_from).exists():
        parser.error(f"--units-from {args.units_from}: no such folder")
    start = time.perf_counter()
    try:
        Pipeline(args).run()
    except SSLUniversalError as err:
        parser.exit(2, f"ssl-universal spoken-qa-table: error: {err}\n")
    print(f"total {time.perf_counter() - start:.0f} s; outputs in {args.out}")
    return 0
