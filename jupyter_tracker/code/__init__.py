"""Code and git context of a run: commit, branch, remote, dirty flag, diff, notebook or script source.

``capture.capture_code(run)`` runs at ``init`` (a start hook); ``restore`` brings a run's saved
files or its code state back.
"""
