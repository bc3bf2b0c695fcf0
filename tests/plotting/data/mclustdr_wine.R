# Reference values for tests/plotting/test_projection.py from R's mclust (MclustDR).
#   Rscript mclustdr_wine.R wine.csv > mclustdr_wine.json
# wine.csv: scikit-learn's load_wine() data, 13 columns with a header, standardised
# (each column minus its mean, over its standard deviation).
suppressMessages({library(mclust); library(jsonlite)})
x <- as.matrix(read.csv(commandArgs(trailingOnly = TRUE)[1]))
fit <- Mclust(x, G = 3, modelNames = "VVE", verbose = FALSE)
pro <- fit$parameters$pro
mu <- fit$parameters$mean                    # p x G
sigma <- fit$parameters$variance$sigma       # p x p x G
center <- drop(mu %*% pro)
within <- Reduce(`+`, lapply(1:3, function(k) pro[k] * sigma[, , k]))
between <- Reduce(`+`, lapply(1:3, function(k) pro[k] * tcrossprod(mu[, k] - center)))
# lambda = 1: MclustDR's location-only kernel, relative to the mixture's own covariance.
location <- MclustDR(fit, lambda = 1, Sigma = within + between)
# lambda = 0 with every mean moved to the data's mean: the covariance term alone.
same_means <- fit
same_means$parameters$mean[] <- colMeans(x)
spread <- MclustDR(same_means, lambda = 0, Sigma = within)
cat(toJSON(list(
  mclust_version = as.character(packageVersion("mclust")),
  weights = pro, means = t(mu),
  covariances = lapply(1:3, function(k) sigma[, , k]),
  data_mean = colMeans(x),
  location_basis = location$basis[, 1:2], location_evalues = location$evalues[1:2],
  spread_basis = spread$basis[, 1:3], spread_evalues = spread$evalues[1:3]
), digits = NA, auto_unbox = TRUE))
