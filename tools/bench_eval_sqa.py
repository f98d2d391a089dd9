"""Time `ssl-universal eval-sqa` end to end on 10,000 generated questions (text and time spans).

    python tools/bench_eval_sqa.py [--questions 10000] [--repeats 3]

Runs the script as a subprocess pinned to one core (``taskset -c 0`` when present) and
prints one Markdown line per variant with the best wall time of ``--repeats`` runs.
"""

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMAND = [sys.executable, "-m", "ssl_universal.cli", "eval-sqa"]  # the command this benchmark times
WORDS = ["the", "a", "an", "river", "city", "king", "war", "treaty", "museum", "1848", "north", "Paris", "Denver"]


def make_files(folder: Path, questions: int, seed: int = 0) -> dict[str, list[Path]]:
    """Gold with text and time spans (10 questions per paragraph) and both kinds of predictions."""
    rng = random.Random(seed)
    paragraphs, text_pred, span_pred = [], {}, {}
    for p in range(0, questions, 10):
        qas = []
        for q in range(p, min(p + 10, questions)):
            qid = f"q{q:06d}"
            answers = []
            for _ in range(rng.randint(1, 3)):
                start = rng.uniform(0, 60)
                text = " ".join(rng.choices(WORDS, k=rng.randint(1, 6)))
                answers.append(
                    {"text": text, "start_time": round(start, 2), "end_time": round(start + rng.uniform(0.2, 4), 2)}
                )
            qas.append({"id": qid, "question": rng.choice(["What", "Who", "When"]) + " is it?", "answers": answers})
            if rng.random() < 0.98:  # a few missing predictions exercise the bookkeeping
                text_pred[qid] = " ".join(rng.choices(WORDS, k=rng.randint(1, 6)))
                start = rng.uniform(0, 60)
                span_pred[qid] = [round(start, 2), round(start + rng.uniform(0.2, 4), 2)]
        paragraphs.append({"context": "...", "qas": qas})
    gold = folder / "gold.json"
    gold.write_text(json.dumps({"version": "1.1", "data": [{"title": "bench", "paragraphs": paragraphs}]}))
    (folder / "text.json").write_text(json.dumps(text_pred))
    (folder / "span.json").write_text(json.dumps(span_pred))
    return {"text answers (EM/F1)": [gold, folder / "text.json"], "time spans (FF1/AOS)": [gold, folder / "span.json"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000, help="questions in the generated gold file")
    parser.add_argument("--repeats", type=int, default=3, help="runs per variant; the best is reported")
    args = parser.parse_args()
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    with tempfile.TemporaryDirectory() as tmp:
        for name, files in make_files(Path(tmp), args.questions).items():
            command = [
                *pin,
                *COMMAND,
                *map(str, files),
                "--by-type",
                "--output",
                str(Path(tmp) / "r.json"),
            ]
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                result = subprocess.run(command, check=False, capture_output=True, text=True)
                times.append(time.perf_counter() - start)
                if result.returncode != 0:
                    print(result.stderr, file=sys.stderr)
                    return 1
            scores = json.loads(result.stdout)
            shown = ", ".join(f"{k} {v:.2f}" for k, v in scores.items() if k != "by_type")
            print(f"| {name} | {args.questions:,} | {min(times):.2f} s | {'1 core' if pin else 'unpinned'} | {shown} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
