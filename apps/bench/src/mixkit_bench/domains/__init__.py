"""The evaluation's domains; each module registers itself with the runner when imported."""

__all__: list[str] = []
