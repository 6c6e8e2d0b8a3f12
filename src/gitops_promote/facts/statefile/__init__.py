"""The optional state file: ``versions.json`` (app -> env -> what it runs, since when) and
``VERSIONS.md`` rendered beside it, so that "what runs where" is answered from git alone.

``settings.state-file: versions.json`` turns it on. Every promotion commit rewrites both
files in the same commit as the overlay edit; ``validate`` checks them against the
overlays. The output is byte-stable: sorted keys, two-space indent, one trailing newline,
so the same repository state always renders the same bytes.

What an entry says:

- ``image``, ``digest``, ``tag``: the pin the overlay carries (the overlays stay the truth;
  the state file mirrors them).
- ``since``, ``commit``: when, and in which commit on the base branch's first-parent
  history, the env started running that artifact (a re-pin of the same digest does not
  move them). A pin that the very commit carrying the file makes cannot name its own
  commit (nor, for a pull request, the merge that will land it): such an entry has
  ``commit: null`` and ``since`` set to the promotion time; the next rewrite fills both in
  from history.

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
