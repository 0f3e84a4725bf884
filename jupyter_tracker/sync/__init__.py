"""Background sync of runs to a tracking server, and ``jupyter-tracker sync``/``login``.

Never imported by ``import jupyter_tracker``: ``sdk`` imports :mod:`jupyter_tracker.sync.online`
only when a run is online and a server is configured, and httpx loads with it.
"""
