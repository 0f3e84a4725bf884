"""Hyperparameter sweeps with wandb's configuration format: search, controller state and agents."""
