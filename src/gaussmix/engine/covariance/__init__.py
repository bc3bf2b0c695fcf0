"""Covariances: how they are stored and evaluated (`forms`, `pruning`), which second moments
the E-step accumulates for them (`scatter`), and mclust's fourteen parametrisations as
classes (`models`, whose `registry` is the only list of model names).
"""
