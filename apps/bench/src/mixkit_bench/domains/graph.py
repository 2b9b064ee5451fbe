"""Graphs: GIN on MUTAG (offline, from grakel's TU files) with mixing of pooled embeddings."""

from __future__ import annotations

import itertools
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import GINConv, global_add_pool

from mixkit_bench._methods import METHODS, Context, build, without
from mixkit_bench._metrics import flip_labels
from mixkit_bench._runner import Profile, register_domain
from mixkit_bench._train import fit
from mixkit_bench.datasets import load_tu_dataset
from mixkit_pyg import PooledMix

__all__ = ["run"]

# CutMix needs spatial dimensions; GenLabel needs a fixed representation to fit its class
# densities on, and pooled embeddings are learnt during training.
METHODS_HERE = without(tuple(METHODS), "CutMix", "GenLabel")


class GIN(nn.Module):
    """GIN (Xu et al., ICLR 2019) with the sum readout of every layer, split for mixing."""

    def __init__(self, d_in: int, classes: int, hidden: int = 32, layers: int = 3) -> None:
        super().__init__()
        dims = [d_in] + [hidden] * layers
        self.convs = nn.ModuleList(
            GINConv(nn.Sequential(nn.Linear(a, b), nn.ReLU(), nn.Linear(b, b)))
            for a, b in itertools.pairwise(dims)
        )
        self.head = nn.Sequential(
            nn.Linear(hidden * layers, hidden), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(hidden, classes),
        )  # fmt: skip

    def embed(self, g: Batch) -> Tensor:
        x, readouts = g.x, []
        for conv in self.convs:
            x = conv(x, g.edge_index).relu()
            readouts.append(global_add_pool(x, g.batch))
        return torch.cat(readouts, dim=1)  # (num_graphs, hidden * layers)

    def forward(self, g: Batch) -> Tensor:
        logits: Tensor = self.head(self.embed(g))
        return logits


@lru_cache(maxsize=2)
def _graphs(path: str | None) -> tuple[Data, ...]:
    root = Path(os.environ.get("MIXKIT_DATA", "data")) / "tu"
    dataset = load_tu_dataset("MUTAG", root, source=path)
    return tuple(Data(x=d.x, edge_index=d.edge_index, y=d.y) for d in dataset)


def run(method: str, seed: int, profile: Profile) -> dict[str, Any]:
    graphs = list(_graphs(profile.data))
    limit = profile.options.get("graphs")
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(graphs), generator=g).tolist()
    if limit:
        order = order[: int(limit)]
    n_test = max(2, len(order) // 5)
    num_classes = 2
    test = [graphs[i] for i in order[:n_test]]
    # label noise flips training and validation labels (new Data objects: the cache is shared);
    # the test graphs stay clean
    noise = float(profile.options.get("label_noise", 0.0))
    pool = [graphs[i] for i in order[n_test:]]
    noisy = flip_labels(torch.cat([d.y for d in pool]), noise, num_classes, seed)
    pool = [Data(x=d.x, edge_index=d.edge_index, y=noisy[i : i + 1]) for i, d in enumerate(pool)]
    val, train = pool[:n_test], pool[n_test:]
    torch.manual_seed(seed)
    device = torch.device(profile.device)
    model = GIN(graphs[0].x.shape[1], num_classes).to(device)
    ctx = Context(
        num_classes=num_classes, epochs=profile.epochs, seed=seed, alpha=0.2, local={"knn": 16}
    )
    recipe = build(method, ctx)
    if recipe.mixer is not None:
        # checks it gets pooled, graph-level inputs; MixupE's term (in the inner mixer) runs
        # the head, fit's decode, on the clean pooled embeddings
        recipe.mixer = PooledMix(recipe.mixer)
    loader_gen = torch.Generator().manual_seed(seed)

    def batches(epoch: int) -> Any:
        loader = DataLoader(train, batch_size=32, shuffle=True, generator=loader_gen)
        for b in loader:
            b = b.to(device)
            yield b, b.y

    def evaluate_on(data: list[Data]) -> Any:
        full = Batch.from_data_list(data).to(device)

        @torch.no_grad()
        def evaluate(m: nn.Module) -> tuple[Tensor, Tensor]:
            return F.log_softmax(m(full).float(), dim=1), full.y

        return evaluate

    val_eval = evaluate_on(val)
    result = fit(
        model, batches, evaluate_on(test), recipe, epochs=profile.epochs, lr=5e-3,
        encode=model.embed, decode=model.head,
        validate=lambda m: float(F.nll_loss(*val_eval(m))),
    )  # fmt: skip
    return result | {"data": "MUTAG", "train_size": len(train), "label_noise": noise}


# a GIN on graphs of ~18 nodes: one thread (see register_domain)
register_domain("graph", run, METHODS_HERE, threads=1)
