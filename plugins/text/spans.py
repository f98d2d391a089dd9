"""Answer spans ↔ tokens: sliding windows over long contexts and the best span back to text.

A question + context pair becomes one or more *features* (windows of ``max_length`` tokens that
overlap by ``doc_stride``). Each feature keeps, per token, the character range it covers in the
context (None for question and special tokens), so a predicted token span maps back to text.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .readers import QAExample


@dataclass
class Window:
    """One feature: token ids, segment ids, the answer's token span (0, 0 = not in this window)."""

    input_ids: list[int]
    token_type_ids: list[int]
    offsets: list[
        tuple[int, int] | None
    ]  # character range in the context of each token, None outside it
    start_position: int
    end_position: int


def windows(
    examples: list[QAExample],
    hf_tokenizer,
    max_length: int,
    doc_stride: int,
    max_query_length: int,
) -> list[list[Window]]:
    """The windows of each example (at least one per example), answer labelled by its first gold answer."""
    questions = []
    for example in examples:
        # Long questions are cut at a token boundary so the context keeps most of the window.
        q = hf_tokenizer(
            example.question, add_special_tokens=False, return_offsets_mapping=True
        )
        if len(q["input_ids"]) > max_query_length:
            questions.append(
                example.question[: q["offset_mapping"][max_query_length - 1][1]]
            )
        else:
            questions.append(example.question)
    encoded = hf_tokenizer(
        questions,
        [e.context for e in examples],
        truncation="only_second",
        max_length=max_length,
        stride=doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        return_token_type_ids=True,
        padding=False,
    )
    out: list[list[Window]] = [[] for _ in examples]
    for f, example_index in enumerate(encoded["overflow_to_sample_mapping"]):
        example = examples[example_index]
        sequence_ids = encoded.sequence_ids(f)
        offsets = [
            tuple(o) if s == 1 else None
            for o, s in zip(encoded["offset_mapping"][f], sequence_ids)
        ]
        start, end = (
            _token_span(offsets, example.answers[0]) if example.answers else (0, 0)
        )
        out[example_index].append(
            Window(
                list(encoded["input_ids"][f]),
                list(encoded["token_type_ids"][f]),
                offsets,
                start,
                end,
            )
        )
    return out


def _token_span(
    offsets: list[tuple[int, int] | None], answer: tuple[str, int]
) -> tuple[int, int]:
    """Token start/end of the answer's characters, or (0, 0) (the CLS token) when the window misses it."""
    text, char_start = answer
    char_end = char_start + len(text)
    inside = [i for i, o in enumerate(offsets) if o is not None]
    if (
        not inside
        or offsets[inside[0]][0] > char_start
        or offsets[inside[-1]][1] < char_end
    ):
        return 0, 0
    start = next(i for i in inside if offsets[i][1] > char_start)
    end = next(i for i in reversed(inside) if offsets[i][0] < char_end)
    return start, end


def span_text(
    context: str, offsets: list[tuple[int, int] | None], start: int, end: int
) -> str:
    """The context text of token span [start, end]."""
    return context[offsets[start][0] : offsets[end][1]]


def best_span(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    offsets: list[tuple[int, int] | None],
    max_answer_length: int,
    n_best: int = 20,
) -> tuple[float, int, int] | None:
    """(score, start, end) of the highest start+end logit span inside the context, or None if none fits."""
    n = min(len(offsets), start_logits.shape[0])
    valid = torch.tensor([o is not None for o in offsets[:n]])
    if not bool(valid.any()):
        return None
    starts = start_logits[:n].float().masked_fill(~valid, float("-inf"))
    ends = end_logits[:n].float().masked_fill(~valid, float("-inf"))
    k = min(n_best, int(valid.sum()))
    top_starts, top_ends = (
        starts.topk(k).indices.tolist(),
        ends.topk(k).indices.tolist(),
    )
    best = None
    for s in top_starts:
        for e in top_ends:
            if e < s or e - s + 1 > max_answer_length:
                continue
            score = float(starts[s] + ends[e])
            if best is None or score > best[0]:
                best = (score, s, e)
    return best
