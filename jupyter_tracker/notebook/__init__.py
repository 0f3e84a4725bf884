"""The notebook front end: ``%tracker`` magics, live panel, inline warnings, run card and runs table.

Nothing in the core imports this package; it attaches itself to runs through ``sdk`` start hooks
and ``console`` warning sinks, and imports IPython, ipywidgets, pandas and plotly only when used.
"""
