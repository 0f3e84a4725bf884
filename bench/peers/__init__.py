"""One small adapter per library: ``load``, ``start``, ``logger``, ``finish`` (see bench/common.py).

``STEP_ARG`` says whether the loop passes the step number (libraries that need one) or calls
``log(row)`` alone (libraries that count steps themselves, as their users write it).
"""
