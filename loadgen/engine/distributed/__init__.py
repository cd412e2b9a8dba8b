"""Past one core and one machine: a profile's segments in worker processes or Ray actors.

``local`` runs segments as processes on this machine, ``ray`` as actors on a Ray cluster
(optional: ``pip install 'loadgen[ray]'``); both merge the parts with ``loadgen.core.merge`` and
judge thresholds and abort rules on the merged numbers. See docs/distributed.md.
"""

from loadgen.engine.distributed.local import LocalOptions, LocalRun, auto_processes

__all__ = ["LocalOptions", "LocalRun", "auto_processes"]
