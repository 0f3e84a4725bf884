"""The self-hosted tracking server (``jupyter-tracker server``): HTTP API, auth, rate limits, storage.

Never imported by ``import jupyter_tracker``; it needs FastAPI, uvicorn and SQLAlchemy.
:func:`jupyter_tracker.server.app.create_app` builds the ASGI app and
:func:`jupyter_tracker.server.serve.serve` runs it under uvicorn.
"""
