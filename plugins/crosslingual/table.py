"""``ssl-universal crosslingual-table``: corpus → vocabulary → MLM pre-training → fine-tune on A, test on every B → tables.

    ssl-universal crosslingual-table --table transfer --preset quick --seeds 0,1,2 --out runs/xl
    ssl-universal crosslingual-table --table fake     --preset quick --seeds 0,1,2 --out runs/xl --jobs 2

``transfer``: the zero-shot matrices (rows fine-tune language, columns test language) of cloze QA (EM/F1, Chinese by
character) and POS (accuracy; Turkish gold, English and Chinese silver), for the multilingual model and for no pre-training
(same architecture and vocabulary, random weights); then the zero-shot Chinese QA table (pre-training × fine-tune
language(s) → test on Chinese). ``fake``: pre-train on English + Fake-English (non-parallel halves), on English only
(the same English half, same vocabulary) or nothing; fine-tune on one, test on both. Every step is a run folder under
``--out``; a finished one is reused, so an interrupted table continues where it stopped. Seed ``s`` of the table is a
whole pipeline: pre-training with seed ``s`` (``OUT/pretrain/<name>/seed<s>``), then fine-tuning with seed ``s`` on it,
so the ± covers both. ``--pretrain-seed S`` instead pre-trains each backbone once, with seed ``S``, and fine-tunes every
seed on it (the ± then covers fine-tuning only; the runs go to ``OUT/finetune_pretrain<S>/``, apart from the per-seed
ones, and the table says which it is). ``--jobs N`` runs N runs side by side (all pre-trainings first, then all fine-tunes; logs in
``OUT/logs/``, the fake table's fine-tunes in ``OUT/fake/logs/``). ``--backbone`` replaces the multilingual pre-training with a Hugging Face folder (e.g. mBERT),
the same folder for every seed, for the full-scale table.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
from pathlib import Path

from ssl_universal.errors import ConfigError, DataError
from ssl_universal.jobs import Job, run_jobs

from .corpus import ENGLISH_SOURCES, CorpusConfig, check_english_sources, stats_table, write_corpus
from .finetune import cloze_reference, pos_reference, write_pos, write_qa
from .matrix import find_transfer_records, markdown_matrix, markdown_rows, score_transfer, transfer_matrix
from .vocab import train_vocabulary

log = logging.getLogger("ssl_universal")

# Sizes per preset: corpus documents per language, vocabulary, fine-tuning items per split, the recipes' presets.
PRESETS = {
    "default": {"max_documents": 6000, "vocab_size": 8000, "limit_alphabet": 3000, "train_items": 1500, "eval_items": 300,
                "pretrain_preset": None, "finetune_preset": None},
    "quick": {"max_documents": 3000, "vocab_size": 5000, "limit_alphabet": 2000, "train_items": 600, "eval_items": 100,
              "pretrain_preset": "quick", "finetune_preset": "quick"},
    "smoke": {"max_documents": 40, "vocab_size": 300, "limit_alphabet": 200, "train_items": 16, "eval_items": 8,
              "pretrain_preset": "smoke", "finetune_preset": "smoke"},
}
MULTI = ["en", "zh", "de", "es", "tr"]
QA_LANGUAGES = ["en", "zh", "de", "es"]
POS_LANGUAGES = ["en", "zh", "tr"]  # the matrices' column order


def _train(recipe: str, overrides: list[str], run_dir: Path) -> None:
    """One run of a packaged recipe, skipped when ``run_dir`` already holds its results."""
    from ssl_universal.config import load_config
    from ssl_universal.run import train

    from . import recipe_path

    if (run_dir / "results.json").is_file():
        return
    log.info("crosslingual-table: %s %s -> %s", recipe, " ".join(overrides), run_dir)
    train(load_config([f"recipe={recipe_path(recipe)}", *overrides, f"run_dir={run_dir}"]))


def pretrain_dir(out: Path, name: str, seed: int) -> Path:
    """The pre-training run of backbone ``name`` with ``seed`` (a finished run folder placed there is reused)."""
    return out / "pretrain" / name / f"seed{seed}"


def _prepare_backbone(name: str, languages: list[str], out: Path, sizes: dict, threads: int, seed: int,
                      vocab_from: str | None = None, corpus_languages: list[str] | None = None,
                      extra: list[str] | None = None) -> Path:
    """Corpus, vocabulary (or ``vocab_from``'s), both seed-independent, and the pre-training of ``seed``; its ``best/hf``."""
    job = _pretrain_job(name, languages, out, sizes, threads, seed, vocab_from, corpus_languages, extra)
    if job is not None:
        job.fn(*job.args)
    return pretrain_dir(out, name, seed) / "best" / "hf"


def _corpus_and_vocabulary(name: str, languages: list[str], out: Path, sizes: dict, vocab_from: str | None = None,
                           corpus_languages: list[str] | None = None) -> tuple[Path, Path]:
    """The corpus folder of backbone ``name`` and its vocabulary (``vocab_from``'s when given), built when missing."""
    corpus_dir = out / "corpus" / name
    if not (corpus_dir / "stats.json").is_file():
        stats = write_corpus(CorpusConfig(languages=corpus_languages or languages, max_documents=sizes["max_documents"],
                                          english_sources=sizes.get("english_sources", ["fortunes"])), corpus_dir)
        if corpus_languages and corpus_languages != languages:  # keep only the asked languages (the en half of en+fake)
            for split in ("train", "valid", "test"):
                text = "".join((corpus_dir / lang / f"{split}.txt").read_text(encoding="utf-8") for lang in languages)
                (corpus_dir / f"{split}.txt").write_text(text, encoding="utf-8")
            stats["languages"] = {k: v for k, v in stats["languages"].items() if k in languages}
            (corpus_dir / "stats.json").write_text(json.dumps(stats, indent=1, ensure_ascii=False))
        print(f"\ncorpus {name}:\n{stats_table(stats)}", flush=True)
    vocab_dir = out / "vocab" / (vocab_from or name)
    if not (vocab_dir / "config.json").is_file():
        train_vocabulary(corpus_dir, vocab_dir, sizes["vocab_size"], limit_alphabet=sizes["limit_alphabet"])
    return corpus_dir, vocab_dir


def _pretrain_job(name: str, languages: list[str], out: Path, sizes: dict, threads: int, seed: int,
                  vocab_from: str | None = None, corpus_languages: list[str] | None = None,
                  extra: list[str] | None = None) -> Job | None:
    """The pre-training of backbone ``name`` with ``seed`` as a job (corpus and vocabulary made now), None when done."""
    corpus_dir, vocab_dir = _corpus_and_vocabulary(name, languages, out, sizes, vocab_from, corpus_languages)
    run_dir = pretrain_dir(out, name, seed)
    if (run_dir / "results.json").is_file():
        return None
    return Job(f"pretrain {name} seed {seed}", _train,
               ("pretrain", pretrain_overrides(sizes, corpus_dir, vocab_dir, seed, threads, extra), run_dir),
               log_file=out / "logs" / f"pretrain_{name}_seed{seed}.log")


def pretrain_overrides(sizes: dict, corpus_dir: Path, vocab_dir: Path, seed: int, threads: int,
                       extra: list[str] | None = None) -> list[str]:
    """The ``ssl-universal train recipe=crosslingual/pretrain`` overrides of one pre-training run of the table."""
    preset = [f"preset={sizes['pretrain_preset']}"] if sizes["pretrain_preset"] else []
    return [*preset, f"task.data_dir={corpus_dir}", f"model.backbone={vocab_dir}", f"seed={seed}",
            f"trainer.threads={threads}", *sizes.get("pretrain_override", []), *(extra or [])]


def _print_pretrained(out: Path, names: list[str], seeds: list[int], start: float) -> int:
    """``--pretrain-only``: each backbone's folder and test masked-piece accuracy / perplexity."""
    print(f"\npre-trained backbones ({(time.time() - start) / 60:.1f} min wall for this call):")
    for name in names:
        for seed in seeds:
            run_dir = pretrain_dir(out, name, seed)
            test = json.loads((run_dir / "results.json").read_text()).get("test", {})
            scores = ", ".join(f"{k} {v:.4g}" for k, v in sorted(test.items()) if isinstance(v, (int, float)))
            print(f"  {run_dir / 'best' / 'hf'}  test: {scores}")
    return 0


def check_settings(out: Path, settings: dict) -> None:
    """Refuse to go on in ``out`` with other corpus or pre-training settings than it was made with (its finished
    corpora and pre-trainings would be reused under the new settings' name); the first call writes them."""
    path = out / "settings.json"
    if path.is_file():
        before = json.loads(path.read_text())
        differ = {k: (before.get(k), v) for k, v in settings.items() if before.get(k) != v}
        if differ:
            lines = "; ".join(f"{k}: {a!r} there, {b!r} now" for k, (a, b) in differ.items())
            raise ConfigError(f"{out} was made with other settings ({lines}); its corpora and pre-trainings would be "
                              "reused under the new ones: pass another --out, or the same settings")
        return
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n")


def _finetune(task: str, backbone: Path, row: str, label: str, train_language: str, test_languages: list[str], seed: int,
              data: Path, root: Path, sizes: dict, threads: int, extra: list[str], pretrain_seed: int | None = None) -> None:
    """Fine-tune ``task`` on ``train_language`` and score the run on every test language (``transfer.json``)."""
    run_dir = root / task / label / train_language / f"seed{seed}"
    previous = _transfer_record(run_dir)
    missing = [lang for lang in test_languages if previous is None or lang not in previous["scores"]]
    if not missing:
        return
    preset = [f"preset={sizes['finetune_preset']}"] if sizes["finetune_preset"] else []
    lang = ["task.lang=zh"] if task == "qa" and train_language == "zh" else []
    _train(task, [*preset, f"row={row}", f"model.backbone={backbone}", f"task.data_dir={data / task / train_language}",
                  f"seed={seed}", f"trainer.threads={threads}", *lang, *extra], run_dir)
    score_transfer(run_dir, task=task, pretrain=label, train_language=train_language, seed=seed, data_root=data / task,
                   test_languages=missing, pretrain_seed=seed if pretrain_seed is None else pretrain_seed,
                   previous=previous)


def _transfer_record(run_dir: Path) -> dict | None:
    """The run's ``transfer.json`` (None when it has none yet)."""
    file = run_dir / "transfer.json"
    return find_transfer_records([file])[0] if file.is_file() else None


def _job_kind(run_dir: Path, test_languages: list[str]) -> str:
    """``done`` (scored on every test language), ``score`` (trained; a test language was added since) or ``train``."""
    record = _transfer_record(run_dir)
    if record is not None and all(lang in record["scores"] for lang in test_languages):
        return "done"
    return "score" if (run_dir / "results.json").is_file() else "train"


def _finetune_job(task: str, backbone: Path, row: str, label: str, train_language: str, test_languages: list[str],
                  seed: int, data: Path, out: Path, sizes: dict, threads: int, extra: list[str],
                  pretrain_seed: int | None = None) -> Job | None:
    """:func:`_finetune` as a job, None when its run is scored already on every test language. A finished run that
    lacks a test language added since is not retrained: its job (named ``score ...``) scores the missing ones."""
    root = finetune_root(out, extra, pretrain_seed)
    run_dir = root / task / label / train_language / f"seed{seed}"
    kind = _job_kind(run_dir, test_languages)
    if kind == "done":
        return None
    name = ("score " if kind == "score" else "") + f"{task} {label} {train_language} seed {seed}"
    name += "" if pretrain_seed is None else f" on pretrain seed {pretrain_seed}"
    return Job(name, _finetune, (task, backbone, row, label, train_language, test_languages, seed, data, root, sizes,
                                 threads, extra, pretrain_seed),
               log_file=out / "logs" / (re.sub(r"[^A-Za-z0-9+_.-]+", "_", name) + ".log"))


def _run(jobs: list[Job | None], workers: int) -> None:
    """Run the jobs still to do (``None`` = a finished run folder, reused)."""
    run_jobs([job for job in jobs if job is not None], workers)


def finetune_root(out: Path, overrides: list[str], pretrain_seed: int | None = None) -> Path:
    """Where the fine-tuning runs go: other ``--finetune-override`` values get their own folder, never a finished run's;
    so do the runs that share one pre-training (``--pretrain-seed``), never mixed with those on per-seed pre-trainings."""
    # '=' would make the folder an unparseable run_dir= override: key=value becomes key-value
    tag = "_".join(re.sub(r"[^A-Za-z0-9_.-]+", "_", o.replace("=", "-", 1)) for o in overrides)
    root = out / ("finetune" if pretrain_seed is None else f"finetune_pretrain{pretrain_seed}")
    return root / tag if tag else root


def seeds_note(seeds: str, pretrain_seed: int | None, backbone: str | None = None) -> str:
    """What the ± of a table covers, for its footer."""
    if backbone:
        return f"fine-tuning seeds {seeds} on the one backbone {backbone}, so the ± covers fine-tuning only"
    if pretrain_seed is None:
        return f"seeds {seeds}: fine-tuning seed s on the pre-training of seed s, so the ± covers both"
    return f"fine-tuning seeds {seeds} on one pre-training per backbone (seed {pretrain_seed}), so the ± covers fine-tuning only"


def transfer_tables(records: list[dict]) -> str:
    parts = []
    for label in ("multilingual", "none"):
        for task, metric, what in (("qa", "f1", "cloze QA F1 (proxy; zh by character)"), ("qa", "exact_match", "cloze QA EM"),
                                   ("pos", "accuracy", "POS accuracy (en, zh silver; tr gold)")):
            matrix = transfer_matrix(records, task, label, metric)
            if matrix["rows"]:
                parts.append(f"**{what}, pre-training: {label}**\n\n{markdown_matrix(matrix)}")
    rows = [(f"{label}, fine-tune {ft}", label, ft, "zh") for label in ("none", "multilingual") for ft in ("zh", "en", "en+zh")]
    parts.append("**zero-shot Chinese (cloze QA, test zh)**\n\n" + markdown_rows(records, rows, [("qa", "exact_match"), ("qa", "f1")]))
    return "\n\n".join(parts)


def reference_tables(data: Path, qa_languages: list[str], pos_languages: list[str]) -> str:
    """Trivial references on the same test files, no model: a random cloze candidate; majority / per-word POS tags."""
    parts = []
    qa = [lang for lang in qa_languages if "+" not in lang and (data / "qa" / lang / "test.json").is_file()]
    if qa:
        scores = {lang: cloze_reference(data / "qa" / lang / "test.json", lang) for lang in qa}
        lines = ["| | " + " | ".join(qa) + " |", "|---" * (len(qa) + 1) + "|"]
        for metric in ("exact_match", "f1"):
            lines.append(f"| random candidate, {metric} | " + " | ".join(f"{scores[lang][metric]:.1f}" for lang in qa) + " |")
        parts.append("**trivial reference, cloze QA (expected score of a uniformly random candidate span of the context)**"
                     "\n\n" + "\n".join(lines))
    pos = [lang for lang in pos_languages if (data / "pos" / lang / "test.conll").is_file()]
    if pos:
        lines = ["| tags read off the train file of ↓ / test → | " + " | ".join(pos) + " |", "|---" * (len(pos) + 1) + "|"]
        for a in pos:
            refs = [pos_reference(data / "pos" / a / "train.conll", data / "pos" / b / "test.conll") for b in pos]
            lines.append(f"| {a}: most frequent tag per word / majority tag | "
                         + " | ".join(f"{r['most_frequent_tag_per_word']:.1f} / {r['majority_tag']:.1f}" for r in refs) + " |")
        parts.append("**trivial reference, POS accuracy (no model; unseen words take the majority tag)**\n\n" + "\n".join(lines))
    return "\n\n".join(parts)


def fake_table(records: list[dict]) -> str:
    rows = [(f"{label}: {a} → {b}", label, a, b) for label in ("en+fake", "en", "none")
            for a, b in (("en", "en"), ("en", "fake"), ("fake", "fake"), ("fake", "en"))]
    return "**Fake-English (pre-training: train → test)**\n\n" + markdown_rows(
        records, rows, [("qa", "exact_match"), ("qa", "f1"), ("pos", "accuracy")])


def main(argv: list[str]) -> int:
    """Build, train and print one table of SCIENCE.md §1 (see the module text)."""
    parser = argparse.ArgumentParser(prog="ssl-universal crosslingual-table", description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", choices=("transfer", "fake"), required=True)
    parser.add_argument("--preset", choices=tuple(PRESETS), default="default")
    parser.add_argument("--seeds", default="0,1,2", help="fine-tuning seeds (comma-separated)")
    parser.add_argument("--out", type=Path, required=True, help="folder of every corpus, vocabulary and run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs side by side on this many worker processes (jobs x threads <= cores; logs: OUT/logs/)")
    parser.add_argument("--pretrain-seed", type=int, default=None,
                        help="pre-train each backbone once with this seed and fine-tune every --seeds seed on it "
                             "(default: seed s fine-tunes on the pre-training of seed s)")
    parser.add_argument("--backbone", default=None, help="transfer: a Hugging Face folder instead of our pre-training")
    parser.add_argument("--qa-languages", default=",".join(QA_LANGUAGES))
    parser.add_argument("--finetune-override", action="append", default=[], help="key=value for every fine-tuning run")
    parser.add_argument("--rows", default="pretrained,scratch",
                        help="transfer: the fine-tuning rows to train (pretrained = the backbone, scratch = no pre-training)")
    parser.add_argument("--report-only", action="store_true", help="print the table from the runs under --out; train nothing")
    parser.add_argument("--english-sources", default="fortunes",
                        help=f"comma-separated text of en (and fake), of {','.join(ENGLISH_SOURCES)} (kjv: the King James "
                             "Bible, 8x the English fortunes; raise --max-documents to keep it)")
    parser.add_argument("--max-documents", type=int, default=None, help="corpus documents per language (default: the preset's)")
    parser.add_argument("--pretrain-override", action="append", default=[],
                        help="key=value for every pre-training run (e.g. trainer.max_steps=4500)")
    parser.add_argument("--pretrain-only", action="store_true",
                        help="build the corpora and vocabularies, pre-train the multilingual (transfer) or en+fake (fake) "
                             "backbone of every seed, print their folders and stop: for a check such as fake_alignment "
                             "before the fine-tuning table")
    args = parser.parse_args(argv)
    rows = args.rows.split(",")
    if any(row not in ("pretrained", "scratch") for row in rows):
        parser.error(f"--rows: expected a comma-separated subset of pretrained,scratch; got {args.rows!r}")
    if args.table == "fake" and args.rows != "pretrained,scratch":
        parser.error("--rows applies to --table transfer; the fake table's three rows are its experiment")
    if args.backbone and args.pretrain_seed is not None:
        parser.error("--pretrain-seed chooses among our pre-trainings; with --backbone there is none")
    sources = args.english_sources.split(",")
    try:
        check_english_sources(sources)
    except DataError as error:
        parser.error(f"--english-sources: {error}")
    if args.backbone and (args.pretrain_only or args.pretrain_override or args.english_sources != "fortunes"):
        parser.error("--backbone replaces our pre-training: --pretrain-only, --pretrain-override and --english-sources "
                     "do not apply")
    sizes = {**PRESETS[args.preset], "english_sources": sources, "pretrain_override": list(args.pretrain_override)}
    if args.max_documents is not None:
        sizes["max_documents"] = args.max_documents
    seeds = [int(s) for s in args.seeds.split(",")]
    pre = args.pretrain_seed

    def pretrain_seed_of(seed: int) -> int:  # the pre-training a fine-tuning seed runs on
        return seed if pre is None else pre

    pretrain_seeds = list(dict.fromkeys(map(pretrain_seed_of, seeds)))
    out = args.out
    data = out / "data"
    start, counts = time.time(), {"trained": 0, "reused": 0, "rescored": 0}
    if not args.report_only and not args.backbone:
        check_settings(out, {"preset": args.preset, "english_sources": sources, "max_documents": sizes["max_documents"],
                             "pretrain_override": sizes["pretrain_override"]})

    def run(jobs: list[Job | None]) -> None:
        counts["rescored"] += sum(job is not None and job.name.startswith("score ") for job in jobs)
        counts["trained"] += sum(job is not None and not job.name.startswith("score ") for job in jobs)
        counts["reused"] += sum(job is None for job in jobs)
        _run(jobs, args.jobs)

    if args.report_only:
        if args.table == "transfer":
            text = transfer_tables(find_transfer_records([finetune_root(out, args.finetune_override, pre)], exclude_below=True))
            text += "\n\n" + reference_tables(data, args.qa_languages.split(","), POS_LANGUAGES)
        else:
            text = fake_table(find_transfer_records([finetune_root(out / "fake", args.finetune_override, pre)], exclude_below=True))
            text += "\n\n" + reference_tables(out / "data_fake", ["en", "fake"], ["en", "fake"])
        print(text + f"\n\n({seeds_note('as found in the run folders', pre, args.backbone)})")
        return 0
    if args.table == "transfer":
        if args.pretrain_only:  # no fine-tuning sets: only the backbones
            run([_pretrain_job("multi", MULTI, out, sizes, args.threads, seed) for seed in pretrain_seeds])
            return _print_pretrained(out, ["multi"], pretrain_seeds, start)
        qa_languages = args.qa_languages.split(",")
        if not (data / "qa" / "stats.json").is_file():
            write_qa(data / "qa", qa_languages, 0, {"train": sizes["train_items"], "valid": sizes["eval_items"] // 2,
                                                    "test": sizes["eval_items"]}, {"en+zh": ["en", "zh"]})
        if not all((data / "pos" / lang / "test.conll").is_file() for lang in POS_LANGUAGES):  # new or a language added
            write_pos(data / "pos", POS_LANGUAGES, 0, {"train": sizes["train_items"], "valid": sizes["eval_items"] // 2,
                                                     "test": sizes["eval_items"]})
        # Cheapest informative order: every seed and both rows of one fine-tuning language before the next, POS (the
        # cheaper task) first, then QA on English, Chinese and en+zh (the zero-shot Chinese table), so a table stopped
        # early has whole rows over all seeds.
        jobs = [("pos", lang, POS_LANGUAGES) for lang in POS_LANGUAGES]
        jobs += [("qa", lang, qa_languages) for lang in [*qa_languages[:2], "en+zh", *qa_languages[2:]]]
        if not args.backbone:
            run([_pretrain_job("multi", MULTI, out, sizes, args.threads, seed) for seed in pretrain_seeds])
        backbones = {seed: Path(args.backbone) if args.backbone else
                     pretrain_dir(out, "multi", pretrain_seed_of(seed)) / "best" / "hf" for seed in seeds}
        run([_finetune_job(task, backbones[seed], row, label, language, tests, seed, data, out, sizes, args.threads,
                           args.finetune_override, pre)
             for task, language, tests in jobs for seed in seeds
             for label, row in (("multilingual", "pretrained"), ("none", "scratch")) if row in rows])
        records = find_transfer_records([finetune_root(out, args.finetune_override, pre)], exclude_below=True)
        text = transfer_tables(records) + "\n\n" + reference_tables(data, qa_languages, POS_LANGUAGES)
    else:
        if args.pretrain_only:
            run([_pretrain_job("enfake", ["en", "fake"], out, sizes, args.threads, seed) for seed in pretrain_seeds])
            return _print_pretrained(out, ["enfake"], pretrain_seeds, start)
        fake_data = out / "data_fake"
        if not (fake_data / "qa" / "stats.json").is_file():
            write_qa(fake_data / "qa", ["en", "fake"], 0, {"train": sizes["train_items"], "valid": sizes["eval_items"] // 2,
                                                          "test": sizes["eval_items"]})
            write_pos(fake_data / "pos", ["en", "fake"], 0, {"train": sizes["train_items"], "valid": sizes["eval_items"] // 2,
                                                            "test": sizes["eval_items"]})
        run([job for seed in pretrain_seeds for job in (
            _pretrain_job("enfake", ["en", "fake"], out, sizes, args.threads, seed),
            _pretrain_job("en", ["en"], out, sizes, args.threads, seed, vocab_from="enfake", corpus_languages=["en", "fake"]))])
        finetunes = []
        for seed in seeds:
            enfake, english = (pretrain_dir(out, name, pretrain_seed_of(seed)) / "best" / "hf" for name in ("enfake", "en"))
            for label, backbone, row in (("en+fake", enfake, "pretrained"), ("en", english, "pretrained"), ("none", enfake, "scratch")):
                for task in ("qa", "pos"):
                    for language in ("en", "fake"):
                        finetunes.append(_finetune_job(task, backbone, row, label, language, ["en", "fake"], seed, fake_data,
                                                       out / "fake", sizes, args.threads, args.finetune_override, pre))
        run(finetunes)
        records = find_transfer_records([finetune_root(out / "fake", args.finetune_override, pre)], exclude_below=True)
        text = fake_table(records) + "\n\n" + reference_tables(fake_data, ["en", "fake"], ["en", "fake"])
    minutes = (time.time() - start) / 60
    text += (f"\n\n({seeds_note(args.seeds, pre, args.backbone)}; preset {args.preset}; {minutes:.1f} min wall for this call, "
             f"which trained {counts['trained']} runs"
             + (f", scored {counts['rescored']} finished ones on test languages added since" if counts["rescored"] else "")
             + f" and reused {counts['reused']} finished ones)")
    (out / f"table_{args.table}.md").write_text(text + "\n", encoding="utf-8")
    print("\n" + text)
    return 0
