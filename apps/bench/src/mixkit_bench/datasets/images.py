"""Offline data for the evaluation: embedded defaults and user-given local paths; no downloads."""

from __future__ import annotations

import gzip
import os
import sys
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

__all__ = ["FASHION_DIR", "ImageData", "load_image_folder", "load_images"]

FASHION_DIR = Path(os.environ.get("MIXKIT_FASHION_DIR", "/usr/share/datasets/fashion-mnist"))

ImageData = tuple[Tensor, Tensor, Tensor, Tensor, str]


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _to_float(images: np.ndarray) -> Tensor:
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)  # (N, 1, H, W)


def load_images(train_size: int | None, test_size: int | None, seed: int) -> ImageData:
    """Fashion-MNIST (Debian ``dataset-fashion-mnist``), else scikit-learn's 8x8 digits.

    Returns float images in [0, 1] shaped ``(N, 1, H, W)``, int64 labels, and the data's name.
    The training subset is drawn with ``seed`` (stratification is not needed at these sizes);
    the test subset is the first ``test_size`` test images (the same for every seed).
    """
    if (FASHION_DIR / "train-images-idx3-ubyte.gz").exists():
        xtr = _read_idx(FASHION_DIR / "train-images-idx3-ubyte.gz")
        ytr = _read_idx(FASHION_DIR / "train-labels-idx1-ubyte.gz")
        xte = _read_idx(FASHION_DIR / "t10k-images-idx3-ubyte.gz")
        yte = _read_idx(FASHION_DIR / "t10k-labels-idx1-ubyte.gz")
        name = "Fashion-MNIST"
    else:
        from sklearn.datasets import load_digits

        print(
            f"mixkit-bench: Fashion-MNIST not found in {FASHION_DIR} (Debian package "
            "dataset-fashion-mnist); using scikit-learn's 8x8 digits instead.",
            file=sys.stderr,
        )
        digits = load_digits()
        images = (digits.images * (255.0 / 16.0)).astype(np.uint8)
        order = np.random.default_rng(0).permutation(len(images))
        cut = len(images) * 3 // 4
        xtr, ytr = images[order[:cut]], digits.target[order[:cut]]
        xte, yte = images[order[cut:]], digits.target[order[cut:]]
        name = "digits-8x8"
    pick = np.random.default_rng(seed).permutation(len(xtr))[: train_size or len(xtr)]
    xte, yte = xte[: test_size or len(xte)], yte[: test_size or len(yte)]
    return (
        _to_float(xtr[pick]),
        torch.from_numpy(ytr[pick].astype(np.int64)),
        _to_float(xte),
        torch.from_numpy(yte.astype(np.int64)),
        name,
    )


def load_image_folder(path: Path) -> ImageData:
    """A local image classification dataset for the ``full`` profile.

    ``path`` is either a directory saved with ``datasets.DatasetDict.save_to_disk`` (splits
    ``train`` and ``test``, columns ``image``/``img`` and ``label``), or an ``imagefolder`` tree
    (``path/train/<class>/*.png``, ``path/test/<class>/*.png``). Read offline.
    """
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import datasets  # type: ignore[import-untyped]

    root = Path(path)
    if (root / "dataset_dict.json").exists():
        dd = datasets.load_from_disk(str(root))
    else:
        dd = datasets.load_dataset("imagefolder", data_dir=str(root))
    splits = []
    for split in ("train", "test"):
        ds = dd[split]
        column = "image" if "image" in ds.column_names else "img"
        arrays = [np.asarray(im, dtype=np.float32) / 255.0 for im in ds[column]]
        x = torch.from_numpy(np.stack(arrays))
        x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)  # (N, C, H, W)
        splits.append((x.contiguous(), torch.tensor(ds["label"], dtype=torch.int64)))
    (xtr, ytr), (xte, yte) = splits
    return xtr, ytr, xte, yte, root.name
