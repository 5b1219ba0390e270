"""Cost models shared by the predictors and few-shot adaptation: the learned device basis
(:mod:`~eagle.costmodels.basis`), analytic reference devices (:mod:`~eagle.costmodels.analytic`),
per-op cost models (:mod:`~eagle.costmodels.opcost`) and the bundled latency table
(:mod:`~eagle.costmodels.bundled`). They import neither :mod:`eagle.predictors` nor
:mod:`eagle.fewshot`.
"""
