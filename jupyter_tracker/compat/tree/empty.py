"""A ``wandb`` package that only holds subpackages (``wandb.integration``)."""

__all__: list[str] = []
