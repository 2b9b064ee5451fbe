"""The traps of mixing inside ``Trainer``, each turned into a clear error or warning.

* ``label_smoothing_factor``: Trainer's label smoother pops the labels and computes its own loss
  on the integer labels (the mixed targets are lost, or smoothed twice). Smooth in the mixer.
* float ``(B, C)`` labels reaching a Hugging Face classifier: ``problem_type`` silently becomes
  ``"multi_label_classification"`` and the model trains with BCE (transformers 5.23: a ViT given
  float labels does exactly that, without a word).
* ``remove_unused_columns`` (default True) drops every dataset column the model's ``forward``
  does not name, so the key to mix must be one of its parameters.
* ``restore_callback_states_from_checkpoint``: Trainer would rebuild the callback from JSON
  arguments, without its mixer; the pieces of this package restore their own state instead.
* integer inputs (``key="input_ids"``): token ids cannot be interpolated; their embeddings can
  (with no key, a text model is mixed inside: :mod:`mixkit_transformers._text`).
"""

from __future__ import annotations

import inspect
from typing import Any, NoReturn

from torch import nn

from mixkit.validation import fail
from mixkit_transformers._text import TEXT_KEY

__all__ = [
    "AUTO_KEYS",
    "TOKEN_ID_KEYS",
    "check_problem_type",
    "check_train_dataset",
    "check_training_args",
    "forward_parameters",
    "refuse_integer_inputs",
    "resolve_key",
]

#: inputs mixed when no key is named: images, waveforms, spectrogram features
AUTO_KEYS: tuple[str, ...] = ("pixel_values", "input_values", "input_features")

#: inputs that hold token ids (integers) in Hugging Face models
TOKEN_ID_KEYS: tuple[str, ...] = ("input_ids", "decoder_input_ids")

MULTI_LABEL = "multi_label_classification"


def refuse_integer_inputs(owner: str, key: str, got: str) -> NoReturn:
    """The error for a key whose inputs are integers (token ids, integer images)."""
    fail(
        owner,
        f"a floating-point input under key={key!r} (token ids cannot be interpolated: for "
        "text, leave key=None and the callback mixes inside the model, at the word embeddings "
        "(get_input_embeddings()) or, with layers=k, at the hidden states of layer k (TMix); "
        "or compute inputs_embeds yourself and pass key='inputs_embeds'. Convert integer "
        "images to float first, e.g. x.float() / 255)",
        got,
    )


def check_training_args(owner: str, args: Any) -> None:
    """Refuse the ``TrainingArguments`` that defeat mixing."""
    smoothing = float(getattr(args, "label_smoothing_factor", 0.0) or 0.0)
    if smoothing != 0.0:
        fail(
            owner,
            "label_smoothing_factor=0 in TrainingArguments (Trainer's label smoother would "
            "replace the mixed loss and smooth again; smooth once in the mixer, e.g. "
            f"MixUp(label_smoothing={smoothing:g}))",
            smoothing,
        )
    if getattr(args, "restore_callback_states_from_checkpoint", False):
        fail(
            owner,
            "restore_callback_states_from_checkpoint=False (Trainer would rebuild this callback "
            "from JSON without its mixer; it restores its own state from the checkpoint)",
            True,
        )


def forward_parameters(model: nn.Module) -> tuple[list[str], bool]:
    """The named parameters of ``model.forward`` and whether it takes ``**kwargs``."""
    params = inspect.signature(model.forward).parameters.values()
    named = [
        p.name
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    return named, any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params)


def resolve_key(owner: str, model: nn.Module, key: str | None) -> str:
    """The input to mix: ``key`` if the model's forward names it; else the first of
    :data:`AUTO_KEYS` that it names; else ``input_ids`` (text, mixed inside the model)."""
    named, _ = forward_parameters(model)
    model_name = type(model).__name__
    if key is None:
        for candidate in (*AUTO_KEYS, TEXT_KEY):
            if candidate in named:
                return candidate
        fail(
            owner,
            f"key= naming the float input to mix ({model_name}.forward takes none of "
            f"{', '.join(AUTO_KEYS)}, nor {TEXT_KEY} for text)",
            "key=None",
        )
    if key not in named:
        fail(
            owner,
            f"a key that {model_name}.forward names (Trainer passes the batch as "
            "model(**batch), and remove_unused_columns drops dataset columns forward does not "
            "name)",
            repr(key),
        )
    return key


def check_problem_type(owner: str, model: nn.Module, task: str, *, hint: str) -> None:
    """Refuse a classifier that switched to multi-label BCE while the mixer is multi-class."""
    config = getattr(model, "config", None)
    problem_type = getattr(config, "problem_type", None)
    if task == "multiclass" and problem_type == MULTI_LABEL:
        fail(
            owner,
            "a single-label classifier for a multi-class mixer (config.problem_type None or "
            "'single_label_classification'; float (B, C) labels reaching a Hugging Face "
            f"classifier switch it to multi-label BCE: {hint})",
            f"problem_type={problem_type!r}",
        )


def check_train_dataset(owner: str, args: Any, dataloader: Any, key: str) -> None:
    """Refuse a ``datasets.Dataset`` that lost the columns the key is built from.

    With ``remove_unused_columns=True`` Trainer keeps only the columns the model's forward
    names; a key built by ``with_transform`` (or by a collator) from other columns then fails
    with a bare ``KeyError`` deep in the DataLoader. Say it here, before the first batch.
    """
    if not getattr(args, "remove_unused_columns", False):
        return
    dataset = getattr(dataloader, "dataset", None)
    columns = getattr(dataset, "column_names", None)
    if not isinstance(columns, list) or key in columns:
        return
    fail(
        owner,
        f"remove_unused_columns=False in TrainingArguments (the training set has no {key!r} "
        "column, so a transform or collator builds it, from columns that Trainer removes "
        "because the model's forward does not name them)",
        f"remove_unused_columns=True, columns left {columns}",
    )
