"""The optional state file: ``versions.json`` (app -> env -> what it runs, since when) and
``VERSIONS.md`` beside it (what an entry says: :mod:`.model`).

Pure: :mod:`.model` builds, renders and parses entries, :mod:`.checks` checks them;
:mod:`.store` is the one edge that reads the work tree and git history and writes the
two files. Callers import from this package.
"""

from gitops_promote.facts.statefile import checks, model, store
from gitops_promote.facts.statefile.checks import *  # noqa: F403 (re-exported: checks.__all__)
from gitops_promote.facts.statefile.model import *  # noqa: F403 (re-exported: model.__all__)
from gitops_promote.facts.statefile.store import *  # noqa: F403 (re-exported: store.__all__)

__all__: list[str] = []
__all__ += model.__all__
__all__ += checks.__all__
__all__ += store.__all__
