"""Framework integrations that wandb ships itself (and the frameworks do not): Keras callbacks.

Served as ``wandb.integration.<framework>`` when jupyter_tracker is wandb, and importable as
``jupyter_tracker.integration.<framework>`` directly.
"""
