"""Live state: what Argo CD or Flux says each environment runs, beside what git says.

One optional source per environment (``live:`` in promotion.yaml). The controllers'
objects are read by the adapters (:mod:`gitops_promote.adapters.argocd`,
:mod:`gitops_promote.adapters.kube`), turned into one :class:`~.model.LiveReading` each by
:mod:`.argocd` and :mod:`.flux`, and judged against git's pins by :mod:`.read`.
Nothing here imports an Argo CD or Kubernetes library unless live state is configured.
"""
