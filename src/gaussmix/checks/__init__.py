"""Checks shared by the estimators and model selection: parameter rules (`parameters`) and
rows of data (`rows`). Nothing here fits a model.
"""
