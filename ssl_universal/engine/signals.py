"""Stopping on SIGTERM and SIGINT without losing work: the loop finishes its step and checkpoints.

SLURM and Kubernetes send SIGTERM some seconds before they kill a job; Ctrl-C sends SIGINT.
While :func:`stop_signals` is active the first of either only sets a flag, which the training
loop reads at the end of each optimizer step (see ``Trainer.fit``); before the loop begins it
stops the run at once (there is nothing to save yet). A second signal exits at once with status
128 + signal number, as a plain kill would (the checkpoints on disk stay complete: every save
is atomic).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Iterator

from ..errors import TrainingInterrupted

log = logging.getLogger("ssl_universal")

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequest:
    """Which stop signal arrived (``None`` until one does).

    While ``immediate`` (a run starting: building, loading a checkpoint) there is no step to
    finish and nothing to save, so the first signal raises :class:`TrainingInterrupted` at once;
    the trainer clears it when its loop begins.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.immediate = True

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else "none"

    def handle(self, signum: int, frame: object) -> None:
        if self.signum is not None:
            log.error("second stop signal (%s): exiting at once without a new checkpoint; the newest complete "
                      "one on disk is kept", signal.Signals(signum).name)
            for handler in logging.getLogger().handlers + log.handlers:
                handler.flush()
            os._exit(128 + signum)
        self.signum = signum
        if self.immediate:
            raise TrainingInterrupted(
                f"stopped by {self.name} while starting, before training began: nothing to save; run the same "
                f"command again to start", signal_name=self.name, step=0, checkpoint=None)
        log.warning("%s received: finishing the current optimizer step, then writing a checkpoint and stopping "
                    "(send it again to exit at once)", signal.Signals(signum).name)


_active: StopRequest | None = None


@contextlib.contextmanager
def stop_signals() -> Iterator[StopRequest]:
    """Catch SIGTERM/SIGINT for the duration; nested uses share one :class:`StopRequest`.

    Outside the main thread Python cannot install handlers: the request then never fires.
    """
    global _active
    if _active is not None:
        yield _active
        return
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        log.debug("not in the main thread: SIGTERM/SIGINT keep their default handlers")
        yield request
        return
    previous = {signum: signal.signal(signum, request.handle) for signum in SIGNALS}
    _active = request
    try:
        yield request
    finally:
        _active = None
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def ignore_stop_signals(*_: object) -> None:
    """DataLoader ``worker_init_fn``: workers leave SIGTERM/SIGINT to the main process, which stops
    them itself (a Ctrl-C to the process group would otherwise kill them mid-epoch)."""
    for signum in SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
