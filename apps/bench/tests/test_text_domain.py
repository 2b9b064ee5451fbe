"""mixkit-bench's text domain: a tiny BERT on the reviews, mixed at the word embeddings, at
encoder layers (TMix) or at the sentence embedding, with the union attention mask."""

from __future__ import annotations

import copy
import csv
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

import mixkit
from mixkit_bench import PROFILES
from mixkit_bench._train import Recipe, fit
from mixkit_bench.cli import main
from mixkit_bench.datasets.text import TextData, encode_texts, load_reviews, tiny_bert_config
from mixkit_bench.domains.text import InsideMix, load_text_dataset, union_mask

pytestmark = pytest.mark.slow

TEXTS = [
    "a great coffee, rich and smooth",
    "stale chips, never again",
    "my dog loves these treats",
    "too sweet and far too expensive",
    "the best tea I have had",
    "arrived broken and late",
]


@pytest.fixture(scope="module")
def data() -> TextData:
    return encode_texts(TEXTS, [1, 0, 1, 0, 1, 0], TEXTS[:2], [1, 0], max_length=24, vocab_size=80)


def _model(data: TextData) -> nn.Module:
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    config = tiny_bert_config(data, hidden=16, layers=2, heads=2, dropout=0.0)
    return BertForSequenceClassification(config).train()


def _batch(data: TextData) -> dict[str, Tensor]:
    batch = {k: data.train[k][:4] for k in ("input_ids", "attention_mask")}
    lengths = batch["attention_mask"].sum(1)
    assert len(set(lengths.tolist())) > 1  # reviews of different lengths: the masks differ
    return batch


def _capture(module: nn.Module, into: list[Any], *, mask: bool = False) -> None:
    """Record what ``module`` returns (or the mask it is given), after the hooks in place."""
    if mask:
        module.register_forward_pre_hook(lambda m, a, k: into.append(a[1]), with_kwargs=True)
    else:
        module.register_forward_hook(lambda m, a, out: into.append(out))


SWAP = mixkit.MixParams(index=torch.tensor([1, 0, 3, 2]), lam=torch.full((4,), 0.25))


def test_word_embedding_mixup_mixes_the_embeddings_and_joins_the_masks(data: TextData) -> None:
    model = _model(data)
    batch, labels = _batch(data), data.train["labels"][:4]
    plain = model(**batch).logits
    # the masks BERT's layers get (4-D, one per row) for the batch as it is
    own: list[Tensor] = []
    handle = model.bert.encoder.layer[0].register_forward_pre_hook(
        lambda m, a, k: own.append(a[1]), with_kwargs=True
    )
    model(**batch)
    handle.remove()
    mixer = mixkit.MixUp(alpha=0.4, num_classes=2)
    inside = InsideMix(mixer, model, [0])
    embeddings: list[Tensor] = []
    masks: list[Tensor] = []
    _capture(model.get_input_embeddings(), embeddings)
    for layer in model.bert.encoder.layer:
        _capture(layer, masks, mask=True)
    logits, mixed = inside(batch, labels, params=SWAP)
    words = model.get_input_embeddings()(batch["input_ids"])
    expected = 0.25 * words + 0.75 * words[SWAP.index]
    torch.testing.assert_close(embeddings[0], expected)
    assert not torch.allclose(logits, plain)  # the mix reaches the logits
    assert mixed.applied and torch.equal(mixed.index, SWAP.index)
    torch.testing.assert_close(mixed.targets[0], torch.tensor([0.75, 0.25]))  # labels 1, 0
    # every layer attends to the positions of either review: max(mask, mask[index])
    union = torch.maximum(own[0], own[0][SWAP.index])
    assert not torch.equal(union, own[0])
    for seen in masks:
        assert torch.equal(seen, union)
    # with lam = 1 nothing changes: the difference above is the mixing
    keep = mixkit.MixParams(index=SWAP.index, lam=torch.ones(4))
    unmixed, _ = inside(batch, labels, params=keep)
    torch.testing.assert_close(unmixed, plain)
    inside.remove()


def test_tmix_mixes_the_drawn_layer_and_joins_the_masks_only_after_it(data: TextData) -> None:
    model = _model(data)
    batch, labels = _batch(data), data.train["labels"][:4]
    hidden: list[Tensor] = []
    handle = model.bert.encoder.layer[0].register_forward_hook(lambda m, a, out: hidden.append(out))
    own: list[Tensor] = []
    handle_mask = model.bert.encoder.layer[0].register_forward_pre_hook(
        lambda m, a, k: own.append(a[1]), with_kwargs=True
    )
    plain = model(**batch).logits
    handle.remove()
    handle_mask.remove()
    inside = InsideMix(mixkit.MixUp(alpha=0.4, num_classes=2), model, [1])
    after: list[Tensor] = []
    masks: list[list[Tensor]] = [[], []]
    _capture(model.bert.encoder.layer[0], after)
    for k, layer in enumerate(model.bert.encoder.layer):
        _capture(layer, masks[k], mask=True)
    logits, mixed = inside(batch, labels, params=SWAP)
    assert inside.site == 1 and mixed.applied
    h = hidden[0]
    torch.testing.assert_close(after[0], 0.25 * h + 0.75 * h[SWAP.index])
    assert not torch.allclose(logits, plain)
    # layer 1 encodes each review alone (its own mask), layer 2 the mix (the union)
    assert torch.equal(masks[0][0], own[0])
    assert torch.equal(masks[1][0], torch.maximum(own[0], own[0][SWAP.index]))
    # the site is drawn per step from the set (here both layers: each drawn in 20 steps)
    both = InsideMix(mixkit.MixUp(alpha=0.4, num_classes=2), _model(data), [1, 2],
                     generator=torch.Generator().manual_seed(0))  # fmt: skip
    drawn = set()
    for _ in range(20):
        both(batch, labels)
        drawn.add(both.site)
    assert drawn == {1, 2}
    inside.remove()
    both.remove()


def test_evaluation_is_never_mixed(data: TextData) -> None:
    model = _model(data)
    untouched = copy.deepcopy(model)
    batch, labels = _batch(data), data.train["labels"][:4]
    inside = InsideMix(mixkit.MixUp(alpha=0.4, num_classes=2), model, [0, 1, 2])
    inside(batch, labels)  # a training step
    # outside a step the hooks do nothing, in train mode and in eval mode
    torch.testing.assert_close(model(**batch).logits, untouched(**batch).logits)
    model.eval()
    untouched.eval()
    logits, mixed = inside(batch, labels, params=SWAP)  # parameters given, still no mixing
    assert not mixed.applied
    torch.testing.assert_close(logits, untouched(**batch).logits)
    # and the training loop scores the model in eval mode, outside any step: after training
    # with the hooks, the clean test metrics are those of the same weights without them
    inside.remove()
    torch.testing.assert_close(model(**batch).logits, untouched(**batch).logits)


def test_union_mask_of_padding_boolean_and_additive_masks() -> None:
    index = torch.tensor([1, 0, 2])
    moved = torch.tensor([True, True, False])
    padding = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 0], [1, 0, 0, 0]])
    assert union_mask(padding, index, moved).tolist() == [[1, 1, 1, 0], [1, 1, 1, 0], [1, 0, 0, 0]]
    boolean = padding.bool()[:, None, None, :]  # what BERT's sdpa layers take
    assert torch.equal(union_mask(boolean, index, moved), union_mask(padding, index, moved)
                       .bool()[:, None, None, :])  # fmt: skip
    additive = torch.where(boolean, 0.0, torch.finfo(torch.float32).min)  # the eager layers'
    joined = union_mask(additive, index, moved)
    assert torch.equal(joined == 0, union_mask(boolean, index, moved))
    # a row not moved keeps its own mask even when its partner is another row
    assert union_mask(padding, index, torch.tensor([False, True, False]))[0].tolist() == [
        1, 1, 0, 0,
    ]  # fmt: skip


def test_each_method_mixes_where_the_domain_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """Word embeddings (MixUp and its schedules), encoder layers (TMix), or the pooled sentence
    embedding that ``encode`` returns and the head (``decode``) takes: k-mixup and Local Mixup
    measure their distances on it, MixupE's clean pass runs the head on it."""
    from mixkit_bench._runner import Profile
    from mixkit_bench.domains import text

    seen: dict[str, Any] = {}

    def record(model: nn.Module, batches: Any, evaluate: Any, recipe: Recipe, **kw: Any) -> Any:
        batch, labels = next(iter(batches(0)))
        seen["recipe"], seen["kw"], seen["batch"], seen["labels"] = recipe, kw, batch, labels
        return {}

    monkeypatch.setattr(text, "fit", record)
    options = PROFILES["tiny"]["clean"]["text"]["options"]
    profile = Profile("tiny", 1, 2, options)
    for method, sites in (("MixUp", (0,)), ("MixUp, off at 75%", (0,)), ("TMix", (1, 2))):
        text.run(method, 0, profile)
        inside = seen["recipe"].inside
        assert isinstance(inside, InsideMix) and inside.sites == sites, method
        assert inside.mixer is seen["recipe"].mixer
    for method in ("senMixup", "k-mixup", "Local Mixup", "MixupE", "RegMixup"):
        text.run(method, 0, profile)
        recipe, kw = seen["recipe"], seen["kw"]
        assert recipe.inside is None, method
        pooled = kw["encode"](seen["batch"])
        assert pooled.shape == (32, options["hidden"]), method  # (batch, hidden)
        mixed = recipe.mixer(pooled, seen["labels"])
        assert mixed.applied and kw["decode"](mixed.inputs).shape == (32, 2)
    assert isinstance(seen["recipe"].mixer.pairing, mixkit.RandomPairing)  # RegMixup
    text.run("k-mixup", 0, profile)
    assert isinstance(seen["recipe"].mixer.pairing, mixkit.OTPairing)
    text.run("Local Mixup", 0, profile)
    assert isinstance(seen["recipe"].mixer.weighting, mixkit.LocalWeights)
    assert seen["recipe"].reduction == "weighted_mean"
    # a recipe that mixes inside needs its mixer
    message = "fit: expected Recipe.mixer, the mixer of Recipe.inside, got None"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        fit(nn.Linear(1, 1), lambda e: [], lambda m: (torch.zeros(1, 2), torch.zeros(1)),
            Recipe(None, inside=lambda b, y: (y, None)), epochs=1)  # type: ignore[arg-type,return-value]  # fmt: skip


def test_tiny_profile_runs_every_text_method(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench"
    argv = ["run", "--profile", "tiny", "--domains", "text", "--settings", "clean", "--out",
            str(out), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    spec = PROFILES["tiny"]["clean"]["text"]
    results = [json.loads(p.read_text()) for p in out.glob("cache/*/text/*.json")]
    by = {(r["method"], r["seed"]): r for r in results}
    assert set(by) == {(m, s) for m in spec["methods"] if m not in ("CutMix", "GenLabel")
                       for s in range(spec["seeds"])}  # fmt: skip
    for r in results:
        assert 0.0 <= r["accuracy"] <= 1.0 and math.isfinite(r["nll"]), r["method"]
        assert len(r["test_loss"]) == spec["epochs"] and r["data"].startswith("fine-food")
        assert r["mixed_epochs"] == [r["method"] != "ERM"] * spec["epochs"], r["method"]
    report = (out / "results.md").read_text()
    for method in ("TMix", "senMixup", "MixUp", "k-mixup", "Local Mixup", "MixupE"):
        assert report.count(f"| {method} |") == 5, method
    capsys.readouterr()


def _write_csv(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


def test_data_text_path_reads_a_local_csv(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    rows = [(t, "neg" if i % 2 else "pos") for i, t in enumerate(TEXTS * 5)]
    _write_csv(path, rows)
    data = load_text_dataset(path, max_length=16, vocab_size=100)
    assert data.label_names == ("neg", "pos")
    assert len(data.train["labels"]) == 24 and len(data.test["labels"]) == 6  # a fifth held out
    assert data.train["input_ids"].shape == (24, 16)
    assert set(data.texts_train) | set(data.texts_test) == set(TEXTS)
    for texts, labels in ((data.texts_train, data.train["labels"]),
                          (data.texts_test, data.test["labels"])):  # fmt: skip
        for text, label in zip(texts, labels.tolist(), strict=True):
            assert data.label_names[label] == ("neg" if TEXTS.index(text) % 2 else "pos")
    # integer labels are numbered in numeric order
    _write_csv(tmp_path / "ints.csv", [(t, ["10", "2", "7"][i % 3]) for i, t in enumerate(TEXTS)])
    ints = load_text_dataset(tmp_path / "ints.csv", max_length=16, vocab_size=100)
    assert ints.label_names == ("2", "7", "10")
    # the CLI: the text column trained on it
    out = tmp_path / "bench"
    argv = ["run", "--profile", "tiny", "--settings", "clean", "--domains", "text", "--methods",
            "ERM", "TMix", "--out", str(out), "--no-progress"]  # fmt: skip
    argv += ["--data", f"text={path}"]
    assert main(argv) == 0
    results = [json.loads(p.read_text()) for p in out.glob("cache/*/text/*.json")]
    assert {r["method"] for r in results} == {"ERM", "TMix"}
    assert {(r["data"], r["train_size"]) for r in results} == {("reviews.csv", 24 - 2)}


def test_data_text_path_reads_a_dataset_saved_with_save_to_disk(tmp_path: Path) -> None:
    import datasets

    label = datasets.ClassLabel(names=["other", "great"])
    features = datasets.Features({"text": datasets.Value("string"), "label": label})
    splits = datasets.DatasetDict({
        "train": datasets.Dataset.from_dict(
            {"text": TEXTS, "label": [1, 0, 1, 0, 1, 0]}, features=features),
        "test": datasets.Dataset.from_dict(
            {"text": TEXTS[:3], "label": [1, 0, 1]}, features=features),
    })  # fmt: skip
    splits.save_to_disk(str(tmp_path / "saved"))
    data = load_text_dataset(tmp_path / "saved", max_length=16, vocab_size=100)
    assert data.label_names == ("great", "other")  # the names, in sorted order
    assert data.train["labels"].tolist() == [0, 1, 0, 1, 0, 1]
    assert data.test["labels"].tolist() == [0, 1, 0] and data.texts_test == TEXTS[:3]
    datasets.Dataset.from_dict({"review": TEXTS, "label": [0] * 6}).save_to_disk(
        str(tmp_path / "other")
    )
    message = ("--data text=PATH: expected a saved dataset with the columns 'text' and 'label', "
               f"got ['review', 'label'] (PATH={str(tmp_path / 'other')!r})")  # fmt: skip
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        load_text_dataset(tmp_path / "other", max_length=16, vocab_size=100)


def test_bad_text_inputs_are_named(tmp_path: Path, data: TextData) -> None:
    def raises(error: type[Exception], message: str, call: Any) -> None:
        with pytest.raises(error, match=f"^{re.escape(message)}$"):
            call()

    missing = tmp_path / "nope.csv"
    raises(FileNotFoundError, "--data text=PATH: expected a CSV file with the columns 'text' and "
           f"'label' or a directory written by datasets' save_to_disk, got {str(missing)!r}, "
           "which does not exist",
           lambda: load_text_dataset(missing, max_length=16, vocab_size=50))  # fmt: skip
    bad = tmp_path / "bad.csv"
    bad.write_text("review,score\nnice,great\n")
    raises(ValueError, "--data text=PATH: expected a CSV file with the columns 'text' and 'label', "
           f"got ['review', 'score'] (PATH={str(bad)!r})",
           lambda: load_text_dataset(bad, max_length=16, vocab_size=50))  # fmt: skip
    one = tmp_path / "one.csv"
    _write_csv(one, [(t, "pos") for t in TEXTS])
    raises(ValueError, "--data text=PATH: expected at least 2 classes in the label column, got "
           f"['pos'] (PATH={str(one)!r})",
           lambda: load_text_dataset(one, max_length=16, vocab_size=50))  # fmt: skip
    unlabelled = tmp_path / "unlabelled.csv"
    _write_csv(unlabelled, [(t, "" if i == 3 else "pos") for i, t in enumerate(TEXTS)])
    raises(ValueError, "--data text=PATH: expected a label in every row, got an empty one "
           f"(PATH={str(unlabelled)!r})",
           lambda: load_text_dataset(unlabelled, max_length=16, vocab_size=50))  # fmt: skip
    empty = tmp_path / "empty"
    empty.mkdir()
    raises(ValueError, "--data text=PATH: expected a CSV file or a directory written by "
           "datasets' save_to_disk, got a directory without a saved dataset "
           f"(PATH={str(empty)!r})",
           lambda: load_text_dataset(empty, max_length=16, vocab_size=50))  # fmt: skip
    raises(ValueError, "encode_texts: expected one label per text in the train set, got 1 "
           "labels for 2 texts", lambda: encode_texts(TEXTS[:2], [0], [], []))  # fmt: skip
    raises(ValueError, "encode_texts: expected labels_test of integer label ids, one per text, "
           "got a torch.float32 tensor of shape (1,)",
           lambda: encode_texts(TEXTS[:2], [0, 1], ["x"], [0.5]))  # fmt: skip
    raises(ValueError, "encode_texts: expected label ids in 0..1 (one per name in label_names), "
           "got ids from 0 to 2",
           lambda: encode_texts(TEXTS[:3], [0, 1, 2], [], [], label_names=["a", "b"]))  # fmt: skip
    raises(ValueError, "InsideMix: expected sites among 0..2 (0: the word embeddings, k: the "
           "output of encoder layer k), got [3]",
           lambda: InsideMix(mixkit.MixUp(num_classes=2), _model(data), [3]))  # fmt: skip
    # the reviews carry their class names; tiny_bert_config sizes the head from them
    assert tiny_bert_config(data).num_labels == 2
    assert tiny_bert_config(data, num_labels=5).num_labels == 5
    reviews = load_reviews(max_length=8, vocab_size=60, train_size=20, test_size=5)
    assert reviews.label_names == ("other", "great")
