"""Shared helpers of the mixkit-transformers tests: tiny models built from configs, tiny data,
a recorder of what reaches the model, and stand-ins for the strategy slots of the core."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
from torch import Tensor, nn
from transformers import (
    ASTConfig,
    ASTForAudioClassification,
    BertConfig,
    BertForSequenceClassification,
    ConvNextConfig,
    ConvNextForImageClassification,
    DebertaV2Config,
    DebertaV2ForSequenceClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    GPT2Config,
    GPT2ForSequenceClassification,
    LlamaConfig,
    LlamaForSequenceClassification,
    PreTrainedModel,
    PrinterCallback,
    RobertaConfig,
    RobertaForSequenceClassification,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    ViTConfig,
    ViTForImageClassification,
    Wav2Vec2Config,
    Wav2Vec2ForSequenceClassification,
)

import mixkit

ROOT = Path(__file__).resolve().parents[3]
CLASSES = 4


def tiny_vit(
    seed: int = 0, *, side: int = 8, patch: int = 4, hidden: int = 16, classes: int = CLASSES
) -> ViTForImageClassification:
    torch.manual_seed(seed)
    config = ViTConfig(
        image_size=side,
        patch_size=patch,
        num_channels=1,
        hidden_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        num_labels=classes,
    )
    return ViTForImageClassification(config)


def tiny_convnext(seed: int = 0) -> ConvNextForImageClassification:
    torch.manual_seed(seed)
    config = ConvNextConfig(
        num_channels=1,
        patch_size=2,
        hidden_sizes=[8, 16],
        depths=[1, 1],
        num_stages=2,
        image_size=8,
        num_labels=CLASSES,
    )
    return ConvNextForImageClassification(config)


def tiny_wav2vec2(seed: int = 0) -> Wav2Vec2ForSequenceClassification:
    torch.manual_seed(seed)
    config = Wav2Vec2Config(
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8, 8),
        conv_stride=(4, 4),
        conv_kernel=(8, 4),
        num_conv_pos_embeddings=4,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm="layer",  # models of this kind take an attention_mask
        classifier_proj_size=8,
        mask_time_prob=0.0,
        num_labels=CLASSES,
    )
    return Wav2Vec2ForSequenceClassification(config)


def tiny_ast(seed: int = 0) -> ASTForAudioClassification:
    torch.manual_seed(seed)
    config = ASTConfig(
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        patch_size=4,
        frequency_stride=4,
        time_stride=4,
        max_length=16,
        num_mel_bins=8,
        num_labels=CLASSES,
    )
    return ASTForAudioClassification(config)


# -- text: tiny models of six families built from configs, a synthetic token task ------------

VOCAB, SEQ, PAD = 48, 16, 0  # ids 1-3: [CLS], [SEP], spare; 4-7: the class keywords


def _text_config(family: str, dropout: float, layers: int) -> Any:
    common: dict[str, Any] = {"vocab_size": VOCAB, "num_labels": CLASSES, "pad_token_id": PAD}
    bert_like: dict[str, Any] = {
        "hidden_size": 32,
        "num_hidden_layers": layers,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "hidden_dropout_prob": dropout,
        "attention_probs_dropout_prob": dropout,
        **common,
    }
    if family == "bert":
        return BertConfig(max_position_embeddings=SEQ, **bert_like)
    if family == "roberta":  # positions count from pad_token_id + 1
        return RobertaConfig(max_position_embeddings=SEQ + 2, **bert_like)
    if family == "deberta-v2":
        return DebertaV2Config(max_position_embeddings=SEQ, **bert_like)
    if family == "distilbert":
        return DistilBertConfig(
            dim=32, n_layers=layers, n_heads=2, hidden_dim=64, max_position_embeddings=SEQ,
            dropout=dropout, attention_dropout=dropout, seq_classif_dropout=dropout, **common,
        )  # fmt: skip
    if family == "gpt2":
        return GPT2Config(
            n_embd=32, n_layer=layers, n_head=2, n_positions=SEQ, resid_pdrop=dropout,
            embd_pdrop=dropout, attn_pdrop=dropout, bos_token_id=1, eos_token_id=2, **common,
        )  # fmt: skip
    if family == "llama":
        return LlamaConfig(
            hidden_size=32, num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=1,
            intermediate_size=64, max_position_embeddings=SEQ, attention_dropout=dropout,
            bos_token_id=1, eos_token_id=2, **common,
        )  # fmt: skip
    raise ValueError(family)


TEXT_MODELS: dict[str, Any] = {
    "bert": BertForSequenceClassification,
    "roberta": RobertaForSequenceClassification,
    "distilbert": DistilBertForSequenceClassification,
    "deberta-v2": DebertaV2ForSequenceClassification,
    "gpt2": GPT2ForSequenceClassification,
    "llama": LlamaForSequenceClassification,
}
#: the decoder-only classifiers, which pool the last token that is not padding
DECODERS = ("gpt2", "llama")


def tiny_text_model(
    family: str = "bert", seed: int = 0, dropout: float = 0.0, *, layers: int = 2
) -> PreTrainedModel:
    """A hidden-32 classifier of ``family`` (see :data:`TEXT_MODELS`), ``layers`` layers, pad
    id 0."""
    torch.manual_seed(seed)
    model: PreTrainedModel = TEXT_MODELS[family](_text_config(family, dropout, layers))
    return model


def token_batch(n: int = 16, seed: int = 0, *, low: int = 4) -> dict[str, Tensor]:
    """``input_ids`` / ``attention_mask`` / ``labels``: right-padded rows of 5 to 16 tokens,
    ``[CLS] ... [SEP]``; class ``c`` holds keyword ``4 + c`` once, among filler ids 8-47."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(low + 1, SEQ + 1, (n,), generator=g)
    labels = torch.randint(0, CLASSES, (n,), generator=g)
    ids = torch.randint(8, VOCAB, (n, SEQ), generator=g)
    for i in range(n):
        length = int(lengths[i])
        ids[i, 0], ids[i, length - 1] = 1, 2
        ids[i, int(torch.randint(1, length - 1, (1,), generator=g))] = 4 + labels[i]
        ids[i, length:] = PAD
    mask = (torch.arange(SEQ).unsqueeze(0) < lengths.unsqueeze(1)).long()
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def text_dataset(n: int = 32, seed: int = 0) -> datasets.Dataset:
    """:func:`token_batch` rows as a ``datasets.Dataset`` (``set_format("torch")``)."""
    ds = datasets.Dataset.from_dict({k: v.numpy() for k, v in token_batch(n, seed).items()})
    ds.set_format("torch")
    return ds


def image_dataset(n: int = 32, seed: int = 0, side: int = 8) -> datasets.Dataset:
    """Random float images with integer labels, ``set_format("torch")``."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, side, side, generator=g)
    y = torch.randint(0, CLASSES, (n,), generator=g)
    ds = datasets.Dataset.from_dict({"pixel_values": x.numpy(), "labels": y.numpy()})
    ds.set_format("torch")
    return ds


def transformed_dataset(images: Tensor, labels: Tensor) -> datasets.Dataset:
    """uint8 ``image`` (N, H, W) columns turned into float ``pixel_values`` by ``with_transform``
    (so the key is no column: Trainer needs ``remove_unused_columns=False``)."""

    def to_pixel_values(batch: dict[str, Any]) -> dict[str, Any]:
        images = torch.as_tensor(np.asarray(batch["image"], dtype=np.uint8))
        return {"pixel_values": images.unsqueeze(1).float() / 255.0, "labels": batch["labels"]}

    data = {"image": images.numpy(), "labels": labels.numpy()}
    return datasets.Dataset.from_dict(data).with_transform(to_pixel_values)


def audio_dataset(n: int = 16, seed: int = 0) -> datasets.Dataset:
    """Waveforms of different lengths, zero-padded to 256 samples, with their attention mask."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(96, 257, (n,), generator=g)
    wave = torch.randn(n, 256, generator=g)
    mask = (torch.arange(256).unsqueeze(0) < lengths.unsqueeze(1)).long()
    wave = wave * mask
    y = torch.randint(0, CLASSES, (n,), generator=g)
    ds = datasets.Dataset.from_dict(
        {"input_values": wave.numpy(), "attention_mask": mask.numpy(), "labels": y.numpy()}
    )
    ds.set_format("torch")
    return ds


def spectrogram_dataset(n: int = 16, seed: int = 0) -> datasets.Dataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 16, 8, generator=g)
    y = torch.randint(0, CLASSES, (n,), generator=g)
    ds = datasets.Dataset.from_dict({"input_values": x.numpy(), "labels": y.numpy()})
    ds.set_format("torch")
    return ds


def args(out: Path, **overrides: Any) -> TrainingArguments:
    """Small, quiet, CPU-only training arguments."""
    settings: dict[str, Any] = {
        "output_dir": str(out),
        "per_device_train_batch_size": 8,
        "per_device_eval_batch_size": 16,
        "max_steps": 4,
        "learning_rate": 1e-3,
        "logging_steps": 2,
        "save_strategy": "no",
        "report_to": [],
        "use_cpu": True,
        "disable_tqdm": True,
        "seed": 0,
    }
    settings.update(overrides)
    return TrainingArguments(**settings)


def trainer(model: nn.Module, training_args: TrainingArguments, **kwargs: Any) -> Trainer:
    t = Trainer(model=model, args=training_args, **kwargs)
    t.remove_callback(PrinterCallback)
    return t


class Recorder(TrainerCallback):
    """Records what reaches the model's forward. Listed after MixUpCallback, its pre-hook runs
    after the mixing one: it sees the mixed batch in training and the batch as is otherwise."""

    def __init__(self) -> None:
        self.calls: list[tuple[bool, dict[str, Any]]] = []
        self._handle: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any):  # type: ignore[no-untyped-def]
        self._handle = model.register_forward_pre_hook(self._record, with_kwargs=True)

    def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self._handle.remove()

    def _record(self, module: nn.Module, args: Any, kwargs: dict[str, Any]) -> None:
        copied = {k: v.detach().clone() if isinstance(v, Tensor) else v for k, v in kwargs.items()}
        self.calls.append((module.training, copied))

    def training(self, key: str) -> list[Tensor]:
        return [kw[key] for train, kw in self.calls if train]

    def evaluation(self, key: str) -> list[Tensor]:
        return [kw[key] for train, kw in self.calls if not train]


class Recording(mixkit.MixUp):
    """MixUp that keeps every result it returns (a test stand-in, behaviour unchanged)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.results: list[mixkit.Mixed] = []

    def forward(  # type: ignore[override]
        self, x: Tensor, y: Tensor, *, features: Tensor | None = None, **kwargs: Any
    ) -> mixkit.Mixed:
        out = super().forward(x, y, features=features, **kwargs)
        self.results.append(out)
        return out


# -- stand-ins for the strategy slots (mixkit.Pairing / Weighting / Relabel / LossTerm), used to
# prove that the callback carries features, weights, relabelling and loss terms ---------------


class NearestPairing(mixkit.Pairing):
    """Each sample mixes with its nearest other sample in feature space."""

    needs_features = True

    def __init__(self) -> None:
        self.seen: list[Tensor] = []

    def pair(self, batch_size: int, features: Tensor | None, generator: torch.Generator) -> Tensor:
        assert features is not None
        self.seen.append(features)
        d = torch.cdist(features, features)
        d.fill_diagonal_(float("inf"))
        return d.argmin(dim=1).cpu() if batch_size > 1 else torch.zeros(1, dtype=torch.int64)

    def __repr__(self) -> str:
        return "NearestPairing()"


class HalfWeights(mixkit.Weighting):
    """Weight 1/2 for every mixed pair, 1 for self-pairs."""

    def weights(self, features: Tensor, index: Tensor, lam: Tensor) -> Tensor:
        own = index == torch.arange(index.shape[0], device=index.device)
        return torch.where(own, 1.0, 0.5).float()

    def __repr__(self) -> str:
        return "HalfWeights()"


class NearestMean(mixkit.Relabel):
    """Relabels a mixed input by its nearest class mean (fitted before training), one-hot."""

    def __init__(self) -> None:
        self.means: Tensor | None = None

    def fit(self, x: Tensor, y: Tensor, num_classes: int) -> NearestMean:
        flat = x.reshape(x.shape[0], -1).float()
        self.means = torch.stack([flat[y == c].mean(dim=0) for c in range(num_classes)])
        return self

    def relabel(
        self, mixed_inputs: Tensor, mixed_features: Tensor | None, targets: Tensor
    ) -> Tensor:
        assert self.means is not None, "fit first"
        flat = mixed_inputs.reshape(mixed_inputs.shape[0], -1).float()
        nearest = torch.cdist(flat, self.means.to(flat.device)).argmin(dim=1)
        return torch.nn.functional.one_hot(nearest, targets.shape[1]).float()

    def state_dict(self) -> dict[str, Any]:
        return {"means": self.means}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.means = state["means"]

    def __repr__(self) -> str:
        return "NearestMean()"


class CleanPenalty(mixkit.LossTerm):
    """A loss term that needs the model: the mean squared clean logit of each sample, summed
    over the batch and divided by ``num_samples`` (or B). Records the clean batches it ran."""

    def __init__(self, weight: float = 0.1) -> None:
        self.weight = weight
        self.clean_inputs: list[Tensor] = []

    def __call__(
        self,
        loss: Tensor,
        mixed: mixkit.Mixed,
        logits: Tensor,
        model: Any,
        *,
        reduction: str,
        num_samples: Tensor | float | None,
    ) -> Tensor:
        assert model is not None
        self.clean_inputs.append(mixed.source.detach().clone())
        penalty = model(mixed.source).float().pow(2).mean(dim=1).sum()
        count = mixed.batch_size if num_samples is None else num_samples
        return loss + self.weight * penalty / count

    def __repr__(self) -> str:
        return f"CleanPenalty(weight={self.weight})"


def load_example(name: str) -> Any:
    """Import ``examples/<name>.py`` as a module (the example's data loader is reused)."""
    path = ROOT / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_example_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
