"""Music tokenizer: a note event → one symbol, either its pitch or its pitch and quantised duration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ssl_universal.errors import ConfigError, DataError
from ssl_universal.tokenizer import Tokenizer, TokenizerConfig

EVENT_KINDS = ("pitch", "pitch_duration")
NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
Event = tuple[int, float]  # (MIDI note number 0-127, duration in quarter notes)


def pitch_name(midi: int) -> str:
    """Scientific pitch name with sharps: 60 → C4, 61 → C#4, 21 → A0."""
    return f"{NAMES[midi % 12]}{midi // 12 - 1}"


@dataclass
class MusicTokenizerConfig(TokenizerConfig):
    """What one symbol describes."""

    events: str = "pitch"  # pitch (128 symbols, C-1..G9) | pitch_duration (pitch × duration bin)
    durations: list[float] = field(default_factory=lambda: [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0])  # pitch_duration: bins in quarter notes; a note takes the nearest


class MusicTokenizer(Tokenizer):
    """A piece is a sequence of events ``(midi, quarter_length)``; each becomes ``C#4`` or ``C#4/1.5``.

    Only the pitch range 0-127 exists; anything else is an error naming the event.
    """

    Config = MusicTokenizerConfig

    def __init__(self, cfg: MusicTokenizerConfig | None = None):
        cfg = cfg or self.Config()
        if cfg.events not in EVENT_KINDS:
            raise ConfigError(f"tokenizer.events must be one of {', '.join(EVENT_KINDS)}; got {cfg.events!r}")
        bins = [float(d) for d in cfg.durations]
        if not bins or any(d <= 0 for d in bins) or bins != sorted(set(bins)):
            raise ConfigError(f"tokenizer.durations must be positive and increasing; got {cfg.durations}")
        self.bins = bins
        pitches = [pitch_name(m) for m in range(128)]
        symbols = pitches if cfg.events == "pitch" else [f"{p}/{self._bin_text(d)}" for p in pitches for d in bins]
        super().__init__(cfg, symbols=symbols)
        self._midi = {name: m for m, name in enumerate(pitches)}

    @staticmethod
    def _bin_text(duration: float) -> str:
        return f"{duration:g}"

    def quantise(self, duration: float) -> float:
        """The nearest duration bin (ties go to the shorter)."""
        return min(self.bins, key=lambda d: (abs(d - duration), d))

    def split(self, item: Sequence[Event]) -> list[str]:
        symbols = []
        for position, event in enumerate(item):
            try:
                midi, duration = int(event[0]), float(event[1])
            except (TypeError, ValueError, IndexError):
                raise DataError(f"event {position}: expected (midi, quarter_length), found {event!r}") from None
            if not 0 <= midi <= 127:
                raise DataError(f"event {position}: MIDI pitch {midi} is outside 0-127")
            name = pitch_name(midi)
            symbols.append(name if self.cfg.events == "pitch" else f"{name}/{self._bin_text(self.quantise(duration))}")
        return symbols

    def to_events(self, symbols: Sequence[str]) -> list[tuple[int, float | None]]:
        """``(midi, duration)`` of decoded symbols; duration is None for pitch-only symbols."""
        events = []
        for symbol in symbols:
            name, _, duration = symbol.partition("/")
            if name not in self._midi:
                raise DataError(f"symbol {symbol!r} is not a note of this tokenizer")
            events.append((self._midi[name], float(duration) if duration else None))
        return events
