"""What a profile will do, in words: the lines ``loadgen validate`` prints (pure).

The plan is data computed before the run (``shapes.plan``); this says it back in the
model's own unit — users for the closed model, arrivals per second for the open model,
the stepped search for a breakpoint — with the graceful stop, thresholds and SLOs, so a
reader sees what will run and what will be judged without starting anything.
"""

from __future__ import annotations

from loadgen.core.profile.model import Load, Profile, ThinkTime
from loadgen.core.shapes import plan
from loadgen.core.units import format_duration

__all__ = ["describe"]


def _think(t: ThinkTime) -> str:
    if t.kind == "uniform":
        return f"think {format_duration(t.low)}–{format_duration(t.high)}"
    if t.kind == "exponential":
        return f"think exponential, mean {format_duration(t.mean)}"
    return f"think {format_duration(t.low)}" if t.low else "no think time"


def _at(seconds: float) -> str:
    return format_duration(seconds) if seconds else "0s"


def _level(load: Load, value: float) -> str:
    return f"{value:g}/s" if load.model == "open" else f"{value:g} users"


def _replay(load: Load) -> list[str]:
    """A replay's plan is its trace: the file, how fast, which part."""
    spec = load.replay
    assert spec is not None
    window = [f"from {format_duration(spec.start)} of the trace" if spec.start else ""]
    if spec.duration is not None:
        window.append(f"for {format_duration(spec.duration)} of it")
    if spec.max_gap is not None:
        window.append(f"idle gaps capped at {format_duration(spec.max_gap)}")
    more = ", ".join(w for w in window if w)
    return [
        f"  load plan (replay of {spec.trace.name}, {spec.format}, the trace's own timestamps):",
        f"    time_scale {spec.time_scale:g} ({1 / spec.time_scale:g}× the trace's speed)"
        + (f"; {more}" if more else ""),
        f"    sessions {spec.sessions}; at most {load.max_in_flight} in flight, more are "
        "dropped (counted)",
    ]


def _load(profile: Profile) -> list[str]:
    load = profile.load
    if load.model == "replay":
        return _replay(load)
    if load.model == "open":
        more = "wait in a queue" if load.queue else "are dropped (counted)"
        lines = [
            "  load plan (open model, arrivals per second):",
            f"    {load.arrival} arrivals; at most {load.max_in_flight} in flight, more {more}",
        ]
    else:
        lines = ["  load plan (closed model, virtual users):"]
    for step in plan(load):
        level = (
            f"hold {_level(load, step.end)}"
            if step.start == step.end
            else f"{_level(load, step.start)} → {_level(load, step.end)}"
        )
        name = f"  ({step.name})" if step.name else ""
        lines.append(f"    {_at(step.at):>6} → {_at(step.until):<6} {level}{name}")
    return lines


def _breakpoint(profile: Profile) -> list[str]:
    bp = profile.breakpoint
    assert bp is not None
    load = profile.load
    model = "open model, arrivals per second" if load.model == "open" else "closed model, users"
    step = f"{bp.step:g}/s" if load.model == "open" else f"{bp.step:g}"
    lines = [
        f"  breakpoint search ({model}):",
        f"    from {_level(load, bp.start)}, +{step} every {format_duration(bp.step_duration)} "
        f"up to {_level(load, bp.max)}; each step judged after a "
        f"{format_duration(bp.warmup)} warm-up",
        f"    broken after {bp.consecutive} broken step{'s' if bp.consecutive > 1 else ''} in a "
        f"row" + (f", then {bp.refine} bisection steps" if bp.refine else ""),
    ]
    if bp.require_at_least is not None:
        lines.append(f"    exit 1 when the breakpoint is below {_level(load, bp.require_at_least)}")
    return lines


def describe(profile: Profile) -> list[str]:
    """The lines under validate's ``ok`` line: users, plan, graceful stop, checks."""
    lines = []
    for cls in profile.users:
        tasks = ", ".join(f"{t.name} ×{t.weight:g}" for t in cls.tasks) or "journey: " + " → ".join(
            t.name + (f" ×{t.repeat}" if t.repeat > 1 else "") for t in cls.journey
        )
        lines.append(
            f"  users {cls.name} (weight {cls.weight:g}, {_think(cls.think_time)}): {tasks}"
        )
    lines += _breakpoint(profile) if profile.breakpoint is not None else _load(profile)
    scrape = profile.target.metrics
    if scrape is not None:
        lines.append(
            f"  scrapes {', '.join(scrape.urls)} every {format_duration(scrape.interval)} "
            f"(preset {scrape.preset or 'guessed from the page'}; docs/server-metrics.md)"
        )
    lines.append(
        f"  graceful stop: {format_duration(profile.load.graceful_stop)} "
        "(answers in flight at the end may finish; later ones are interrupted)"
    )
    search = profile.breakpoint is not None
    lines.append(
        "  checks (docs/ci.md): at least one request succeeds; no internal error in a VU"
        + ("; the search's answer decides" if search else "")
    )
    for t in profile.thresholds:
        abort = ""
        if t.abort_on_fail:
            abort = " (aborts the run" + (f" after {format_duration(t.after)}" if t.after else "")
            abort += ")"
        informs = " (informs: a breakpoint search is judged by its answer)" if search else ""
        lines.append(f"  threshold: {t.expr}{abort}{informs}")
    if search:
        role = "judges each step"
    else:
        role = "gates the exit code" if profile.slo.gate else "informs (slo.gate: true to gate)"
    lines += [f"  SLO: {r['expr']} — {role}" for r in profile.slo.records({})]
    return lines
