"""The target's own counters and their Prometheus text exposition (pure)."""

from __future__ import annotations

from collections import Counter

__all__ = ["Metrics"]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """Counters by route and status, faults, tokens; gauges are passed in at render time."""

    __slots__ = ("faults", "requests", "tokens")

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, int]] = Counter()
        self.faults: Counter[str] = Counter()
        self.tokens = 0

    def render(self, gauges: dict[str, tuple[str, float]]) -> str:
        """Prometheus text format 0.0.4; ``gauges`` maps name → (help, value)."""
        lines = [
            "# HELP loadgen_target_requests_total Requests answered, by route and status.",
            "# TYPE loadgen_target_requests_total counter",
        ]
        for (route, status), count in sorted(self.requests.items()):
            lines.append(
                f'loadgen_target_requests_total{{route="{_escape(route)}",status="{status}"}} '
                f"{count}"
            )
        lines += [
            "# HELP loadgen_target_faults_total Faults injected, by kind.",
            "# TYPE loadgen_target_faults_total counter",
        ]
        for kind, count in sorted(self.faults.items()):
            lines.append(f'loadgen_target_faults_total{{kind="{_escape(kind)}"}} {count}')
        lines += [
            "# HELP loadgen_target_tokens_total Content tokens written.",
            "# TYPE loadgen_target_tokens_total counter",
            f"loadgen_target_tokens_total {self.tokens}",
        ]
        for name, (help_text, value) in gauges.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value:g}"]
        return "\n".join(lines) + "\n"
