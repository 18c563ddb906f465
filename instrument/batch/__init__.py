"""``dreamsound batch``: a whole corpus dreamed on worker processes (a local Dask cluster, or an existing one).

``jobs`` (what to do: folder or manifest, the variants grid, output names, every check before work),
``results`` (the results manifest: whole lines appended under a lock; what a rerun skips), ``work``
(what a worker runs: the model loaded once, one job = ``render``'s own code), ``runner`` (the driver).
Same layer as ``live`` and ``replay``; none knows the others.
"""
