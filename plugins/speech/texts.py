"""What the synthetic voices say: keywords, templated commands with intents, sentences, prosodic styles."""

from __future__ import annotations

import itertools

import numpy as np

# Keyword spotting, after Speech Commands: ten keywords, other words as _unknown_, noise as _silence_.
KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
UNKNOWN_WORDS = ("bed", "bird", "cat", "dog", "happy", "house", "tree", "wow", "seven", "zero",
                 "forward", "learn", "follow", "visual", "sheila")
UNKNOWN, SILENCE = "_unknown_", "_silence_"

# Intent classification, after Fluent Speech Commands: intent = action_object_location.
LOCATIONS = {"none": "", "kitchen": " in the kitchen", "bedroom": " in the bedroom", "washroom": " in the washroom"}
_PLACED = {  # (action, object) -> phrasings with {loc}
    ("activate", "lights"): ("turn on the lights{loc}", "switch on the lights{loc}", "lights on{loc}"),
    ("deactivate", "lights"): ("turn off the lights{loc}", "switch off the lights{loc}", "lights off{loc}"),
    ("increase", "heat"): ("turn up the heat{loc}", "make it warmer{loc}", "increase the temperature{loc}"),
    ("decrease", "heat"): ("turn down the heat{loc}", "make it cooler{loc}", "decrease the temperature{loc}"),
}
_UNPLACED = {
    ("activate", "music"): ("play the music", "start the music", "put some music on"),
    ("deactivate", "music"): ("stop the music", "pause the music", "turn the music off"),
    ("increase", "volume"): ("turn up the volume", "make it louder", "increase the volume"),
    ("decrease", "volume"): ("turn down the volume", "make it quieter", "lower the volume"),
    ("bring", "newspaper"): ("bring me the newspaper", "get the newspaper", "fetch the newspaper"),
    ("bring", "shoes"): ("bring me my shoes", "get my shoes", "fetch my shoes"),
}


def intents() -> dict[str, tuple[str, ...]]:
    """Intent label -> every phrasing of it."""
    table = {}
    for (action, obj), phrasings in _PLACED.items():
        for location, loc in LOCATIONS.items():
            table[f"{action}_{obj}_{location}"] = tuple(p.format(loc=loc) for p in phrasings)
    for (action, obj), phrasings in _UNPLACED.items():
        table[f"{action}_{obj}_none"] = phrasings
    return table


# Read sentences for ASR and speaker identification: subject verb object [tail].
_SUBJECTS = ("the cat", "a small dog", "my neighbour", "the old man", "our teacher", "the children",
             "a green bird", "the farmer", "his sister", "the robot")
_VERBS = ("sees", "likes", "finds", "carries", "paints", "follows", "builds", "washes", "opens", "sells")
_OBJECTS = ("a red box", "the heavy door", "seven apples", "the blue car", "a wooden chair", "the new house",
            "three letters", "the bright lamp", "a warm coat", "the little boat")
_TAILS = ("", " in the morning", " after dinner", " near the river", " every day", " on monday",
          " with great care", " at the market")
_ALL_SENTENCES = tuple(f"{s} {v} {o}{t}" for s, v, o, t in itertools.product(_SUBJECTS, _VERBS, _OBJECTS, _TAILS))


def sentences(split: str, count: int, rng: np.random.Generator) -> list[str]:
    """``count`` distinct sentences; train and test draw from disjoint quarters of the grammar."""
    pool = [s for i, s in enumerate(_ALL_SENTENCES) if (i % 4 == 0) == (split == "test")]
    picks = rng.choice(len(pool), size=min(count, len(pool)), replace=False)
    return [pool[i] for i in picks]


def letters(text: str) -> str:
    """fairseq letter targets: upper-case letters separated by spaces, ``|`` after each word."""
    return " ".join(" ".join(word.upper()) + " |" for word in text.split())


# Prosodic styles (espeak-ng only): speaking manners set by rate, pitch, loudness and the whisper
# variant. They are *not* emotions: no one felt anything; a model that separates them has learnt
# prosody, which is what emotion recognition leans on, and nothing more is claimed.
STYLES = {
    "neutral": {"rate_scale": 1.0, "pitch_shift": 0, "amplitude": 100},
    "calm": {"rate_scale": 0.75, "pitch_shift": -15, "amplitude": 60},
    "excited": {"rate_scale": 1.35, "pitch_shift": 25, "amplitude": 160},
    "whisper": {"rate_scale": 0.95, "pitch_shift": 0, "amplitude": 100, "variant": "whisper"},
}
STYLE_SENTENCES = ("I did not expect that at all", "we are going to the station now", "this is the last one",
                   "you can open the window", "they told me about the meeting", "it is raining again today",
                   "please wait for me here", "that was a long day")
