"""Pre-trained backbones, the transfer mechanism and generic heads; importing registers the core models.

Registered here: the tokenizer ``backbone`` and the models ``seq_classifier``, ``token_tagger``,
``span_extractor`` and ``masked_lm`` (config: :class:`TransferModelConfig`).
"""

from .backbone import (
    DEFAULT_BACKBONE,
    Backbone,
    BackboneTokenizer,
    default_backbone_dir,
    resolve_backbone,
)
from .generic import MaskedLM, SequenceClassifier, SpanExtractor, TokenTagger
from .transfer import (
    ASSIGNMENTS,
    FREEZE_POLICIES,
    INITS,
    SymbolMapping,
    apply_assignment,
    apply_freeze_policy,
    assign_symbols,
    redraw_from_statistics,
)
from .transfer_model import TransferModel, TransferModelConfig, build_backbone

__all__ = [
    "ASSIGNMENTS",
    "DEFAULT_BACKBONE",
    "FREEZE_POLICIES",
    "INITS",
    "Backbone",
    "BackboneTokenizer",
    "MaskedLM",
    "SequenceClassifier",
    "SpanExtractor",
    "SymbolMapping",
    "TokenTagger",
    "TransferModel",
    "TransferModelConfig",
    "apply_assignment",
    "apply_freeze_policy",
    "assign_symbols",
    "build_backbone",
    "default_backbone_dir",
    "redraw_from_statistics",
    "resolve_backbone",
]
