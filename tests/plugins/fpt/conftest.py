"""Fixtures of the FPT plugin tests: the plugin imported (its entry point may not be installed) and a tiny BERT folder."""

from __future__ import annotations

import pytest
import torch

import ssl_universal_plugins.fpt  # noqa: F401  (registers the tasks and the listops tokenizer)


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    """A 2-layer random BERT in Hugging Face layout, width 32, 256 positions (no tokenizer: FPT inputs need none)."""
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("fpt_tiny_bert")
    torch.manual_seed(11)
    config = BertConfig(vocab_size=20, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=256)
    BertModel(config).save_pretrained(str(folder))
    return folder
