"""Tiny random models for tests and the demo (XLM-R encoders, a Llama causal LM): a real architecture, a
tokenizer trained on the fly."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def train_tiny_tokenizer(texts: Iterable[str], vocab_size: int = 2000) -> PreTrainedTokenizerFast:
    """A WordPiece tokenizer (XLM-R style special tokens, character offsets) whose vocabulary is counted
    here: the special tokens, every character seen (word-initial and as a ``##`` continuation, so any text
    of those characters encodes), then the most frequent words up to ``vocab_size`` (ties by the word).

    The same texts give the same bytes; the trainers of ``tokenizers`` (BPE, Unigram) break ties in hash
    order and give a different vocabulary on every run, so a seeded demo would not repeat.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import RobertaProcessing

    # Chinese, Japanese and Korean characters become words of their own (BERT's rule), case is kept
    normalizer = normalizers.BertNormalizer(
        clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=False
    )
    splitter = pre_tokenizers.BertPreTokenizer()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(word for word, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text)))
    characters = sorted({char for word in counts for char in word})
    vocab = list(dict.fromkeys([*SPECIAL_TOKENS, *characters, *(f"##{c}" for c in characters)]))
    for word, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if len(vocab) >= vocab_size:
            break
        if len(word) > 1:
            vocab.append(word)
    model = models.WordPiece({token: i for i, token in enumerate(vocab)}, unk_token="<unk>")
    tokenizer = Tokenizer(model)
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = splitter
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.post_processor = RobertaProcessing(("</s>", vocab.index("</s>")), ("<s>", vocab.index("<s>")))
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=512,
    )


def build_tiny_xlmr(
    out_dir: str | Path,
    texts: Iterable[str],
    vocab_size: int = 2000,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    seed: int = 0,
) -> Path:
    """Save a randomly initialised XLM-R encoder plus a fast tokenizer trained on ``texts`` to ``out_dir``.

    Load it with any ``AutoModelFor*`` class: the task head is initialised on load, as for the real
    ``xlm-roberta-base``.
    """
    import torch

    out = Path(out_dir)
    tokenizer = train_tiny_tokenizer(texts, vocab_size=vocab_size)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=hidden_size * 2,
        max_position_embeddings=514,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    model = XLMRobertaModel(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def build_tiny_causal_lm(
    out_dir: str | Path,
    texts: Iterable[str],
    vocab_size: int = 300,
    hidden_size: int = 16,
    num_layers: int = 1,
    seed: int = 0,
) -> Path:
    """Save a randomly initialised Llama-architecture causal LM plus a byte-level BPE tokenizer trained on
    ``texts`` to ``out_dir``: a generative model for lm-evaluation-harness runs in tests (encodes any
    text)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(list(texts), trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="</s>",
        model_max_length=2048,
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
