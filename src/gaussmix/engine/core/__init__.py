"""The EM algorithm itself, independent of where rows live and how covariances are stored.

`stats` (sufficient statistics that add), `estep` (rows -> Stats), `mstep`
(Stats -> parameters), `em` (the driver: iterations, convergence, restarts), `params`,
`criteria` (BIC, AIC, ICL), `initialization` and `hierarchical` (starting partitions),
`stepwise` (online EM), `noise` (the uniform noise component), `memory` (size checks).
"""
