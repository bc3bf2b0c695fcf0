"""The EM engine: sufficient statistics, kernels, covariance models and the EM driver.

Nothing in this package knows about estimators, files or figures.
"""
