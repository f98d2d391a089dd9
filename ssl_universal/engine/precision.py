"""Mixed precision: autocast contexts and the GradScaler that fp16 needs."""

from __future__ import annotations

import contextlib
import functools
import time

import torch

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(precision: str, device: torch.device):
    """``torch.autocast`` for bf16/fp16 on the device's type; a no-op for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=DTYPES[precision])


def grad_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler:
    """Loss scaling guards fp16 gradients against underflow; bf16 and fp32 need none."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")


@functools.cache
def cpu_slowdown(precision: str, size: int = 256, repeats: int = 5) -> float:
    """How many times slower a ``size``² matmul runs in ``precision`` than in fp32 on this CPU (best of
    ``repeats``, measured once per process, a few milliseconds). CPUs without native bf16/fp16 units
    emulate them: on the 2-core machines this project runs CI on, bf16 was ~50× slower."""
    if precision == "fp32":
        return 1.0
    a = torch.randn(size, size)

    def best(dtype: torch.dtype) -> float:
        x = a.to(dtype)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            x @ x
            times.append(time.perf_counter() - start)
        return min(times)

    return best(DTYPES[precision]) / max(best(torch.float32), 1e-9)


def precision_advice(precision: str, device: torch.device) -> str | None:
    """A warning for a precision that will be slow on ``device`` (bf16/fp16 on a CPU that emulates it)."""
    if device.type != "cpu" or precision == "fp32":
        return None
    slowdown = cpu_slowdown(precision)
    if slowdown < 1.5:
        return None
    return (f"trainer.precision={precision} on this CPU: a {precision} matmul ran {slowdown:.0f}x slower than fp32 "
            f"(measured just now); the CPU has no native {precision} arithmetic, so use trainer.precision=fp32 here "
            f"and {precision} on a GPU")
