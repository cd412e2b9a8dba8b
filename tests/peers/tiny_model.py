"""Build a tiny, randomly initialised Llama-style chat model in a folder, from local text only.

Run with the peer servers' Python (it needs ``tokenizers``, ``transformers`` and ``torch``,
which the dev environment does not have): ``python tiny_model.py OUT_DIR TEXT_FILE...``.
Nothing comes from a model hub. The model never stops by itself (no end-of-sequence token in
its generation config), so every answer is exactly ``max_tokens`` long and a test can know
the server's usage before it asks.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

SPECIAL = ["<unk>", "<s>", "</s>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant: {% endif %}"
)


def build(out: Path, texts: list[Path]) -> None:
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train([str(p) for p in texts], trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        bos_token_id=1,
        eos_token_id=None,
        pad_token_id=0,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = None
    model.generation_config.do_sample = False  # greedy: no sampling knobs to warn about
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


if __name__ == "__main__":
    build(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
