"""Priors on the mixture's parameters: MAP estimation under a conjugate prior (`map_prior`)
and variational Bayes with a Dirichlet or Dirichlet-process weight prior (`variational`).
"""
