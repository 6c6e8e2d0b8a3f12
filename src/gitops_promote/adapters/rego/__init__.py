"""Rego policies, evaluated by the embedded engine (``regopy``) in a child process.

The engine is run in a child with a time limit because it can crash the process
(segmentation faults on some ``with`` forms) or never return (pathological regexes): a
crash, a compile error or a timeout becomes a :class:`~.model.PolicyError` naming the
policy, never a dead check. The values it takes and gives are in :mod:`.model`.
"""
