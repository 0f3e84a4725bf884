"""The namespaces of the served ``wandb`` modules, one jupyter_tracker module per wandb module.

Each is an ordinary module imported once under its own name; the import hook copies its public
names into the ``wandb.<...>`` module it makes (see :data:`jupyter_tracker.compat.finder.TREE`).
"""
