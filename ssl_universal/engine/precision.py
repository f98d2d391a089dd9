"""Mixed precision: autocast contexts and the GradScaler that fp16 needs."""

from __future__ import annotations

import contextlib

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
