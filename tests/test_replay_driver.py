"""The replay driver and its sessions in virtual time: a ``FakeClock`` that never sleeps.

The senders here only wait on the same clock, so each test pins down when the driver
starts each trace row, what it drops and counts, and when a session's next turn goes.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from loadgen.core.bpe import default_tokenizer
from loadgen.core.profile.model import ChatTask, DataPools, ReplaySpec, Task, UserClass
from loadgen.core.prompts import PromptBuilder, default_corpus
from loadgen.core.traces import TraceRequest, columns_for
from loadgen.engine.clock import FakeClock
from loadgen.engine.control import RunControl
from loadgen.engine.crowd import Crowd
from loadgen.engine.drivers.replay import ReplayDriver
from loadgen.engine.drivers.replayusers import ReplayUsers
from loadgen.engine.vu import VUContext


class Tally:
    def __init__(self) -> None:
        self.sent = self.dropped = 0

    def add_sent(self) -> None:
        self.sent += 1

    def add_dropped(self) -> None:
        self.dropped += 1


class FakeSenders:
    """Each row records its line, t0 and the clock when it started, then is busy."""

    def __init__(self, clock: FakeClock, busy: float) -> None:
        self.clock, self.busy = clock, busy
        self.pending = 0
        self.started: list[tuple[int, float, float]] = []

    def arrival(self, row: TraceRequest, t0: float, offset: float) -> tuple[Any, bool]:
        async def serve() -> None:
            self.started.append((row.line, t0, self.clock.now()))
            await self.clock.sleep(self.busy)

        return serve(), True


def spec_for(tmp_path: Path, times: list[float], **options: Any) -> ReplaySpec:
    path = tmp_path / "t.jsonl"
    lines = [
        {"timestamp": t, "input_tokens": 8, "output_tokens": 2, **({"session_id": s} if s else {})}
        for t, s in ((t if isinstance(t, tuple) else (t, None)) for t in times)
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return ReplaySpec(trace=path, format="jsonl", columns=columns_for("jsonl"), **options)


def drive(spec: ReplaySpec, busy: float, max_in_flight: int = 1000, until: float = 60.0):
    async def main() -> tuple[FakeSenders, Tally, ReplayDriver]:
        clock = FakeClock(100.0)
        senders, tally = FakeSenders(clock, busy), Tally()
        driver = ReplayDriver(
            spec=spec,
            max_in_flight=max_in_flight,
            segment=(0, 1),
            users=senders,
            tally=tally,
            crowd=Crowd(open_model=True),
            control=RunControl(clock),
        )
        await asyncio.gather(driver.drive(100.0), clock.advance_to(100.0 + until))
        return senders, tally, driver

    return asyncio.run(main())


def test_each_row_starts_at_its_scaled_timestamp_whatever_is_in_flight(tmp_path: Path):
    """time_scale 0.5: rows 2 s apart in the trace start 1 s apart, exactly on time, while
    the earlier ones are still busy (5 s each)."""
    spec = spec_for(tmp_path, [50.0, 52.0, 54.0, 54.5], time_scale=0.5)
    senders, tally, _ = drive(spec, busy=5.0)
    assert senders.started == [
        (1, 100.0, 100.0),
        (2, 101.0, 101.0),
        (3, 102.0, 102.0),
        (4, 102.25, 102.25),
    ]
    assert (tally.sent, tally.dropped) == (4, 0)


def test_rows_beyond_max_in_flight_are_dropped_and_counted_never_delayed(tmp_path: Path):
    """2 in flight, answers of 1 s, rows every 0.25 s: 2 of every 4 go, the rest drop."""
    spec = spec_for(tmp_path, [i * 0.25 for i in range(8)])
    senders, tally, _ = drive(spec, busy=1.0, max_in_flight=2)
    assert [t0 - 100.0 for _, t0, _ in senders.started] == [0.0, 0.25, 1.0, 1.25]
    assert all(t0 == at for _, t0, at in senders.started)
    assert (tally.sent, tally.dropped) == (4, 4)


def test_malformed_rows_are_skipped_counted_and_named_in_the_stop_reason(tmp_path: Path):
    """A bad row does not stop the replay: the others go, the reason says what was skipped."""
    spec = spec_for(tmp_path, [0.0, 1.0])
    with spec.trace.open("a") as f:
        f.write('{"timestamp": 2}\n{"timestamp": 3, "input_tokens": 8}\n')

    async def main() -> tuple[FakeSenders, str]:
        clock = FakeClock()
        senders = FakeSenders(clock, 0.1)
        control = RunControl(clock)
        driver = ReplayDriver(
            spec=spec,
            max_in_flight=10,
            segment=(0, 1),
            users=senders,
            tally=Tally(),
            crowd=Crowd(open_model=True),
            control=control,
        )
        await asyncio.gather(driver.drive(0.0), clock.advance_to(10.0))
        return senders, control.stop_reason

    senders, reason = asyncio.run(main())
    assert [line for line, _, _ in senders.started] == [1, 2, 4]
    assert reason.startswith("completed; 1 trace row skipped, the first: ")
    assert ":3: columns.input_tokens:" in reason


def test_planned_rate_counts_the_trace_rows_due_in_each_interval(tmp_path: Path):
    """The plan counts the rows the driver read by their due time: 3 in [0, 1), 1 in
    [1, 2), 0 after."""
    spec = spec_for(tmp_path, [0.0, 0.2, 0.9, 1.5])
    _, _, driver = drive(spec, busy=0.0)
    plan = driver.plan
    plan.shift = 0.0
    assert [plan.rate(1.0), plan.rate(2.0), plan.rate(2.5)] == [3.0, 1.0, 0.0]


class FakeRunner:
    """Stands in for the VU: each turn takes ``busy`` seconds of the fake clock."""

    def __init__(self, clock: FakeClock, busy: float) -> None:
        self.clock, self.busy = clock, busy
        self.turns: list[tuple[float, float, list[dict[str, str]], Any]] = []
        self.models: list[str] = []
        self.outputs: list[int | None] = []

    async def start_auth(self, client: Any) -> None:
        pass

    async def send_turn(self, client, task, t0, messages, *lengths) -> tuple[float, str]:
        self.turns.append((t0, self.clock.now(), list(messages), lengths[0]))
        self.models.append(task.chat.model)
        self.outputs.append(lengths[1])
        await self.clock.sleep(self.busy)
        return self.clock.now(), "ok then"


@pytest.fixture(scope="module")
def builder() -> PromptBuilder:
    return PromptBuilder(default_tokenizer(), default_corpus(), 0)


def session_run(
    tmp_path: Path, builder: PromptBuilder, mode: str, spec: ReplaySpec | None = None
) -> FakeRunner:
    """Session a: turns at 0 s and 1 s of the trace; answers take 3 s."""
    spec = spec or spec_for(tmp_path, [(0.0, "a"), (0.5, None), (1.0, "a")], sessions=mode)

    async def main() -> FakeRunner:
        clock = FakeClock()
        control = RunControl(clock)
        tally = Tally()
        task = Task(name="chat", chat=ChatTask())
        ctx = VUContext(
            pools=DataPools(),
            record=lambda s: None,
            new_client=lambda: None,
            timeout=5,
            run_tag="t",
        )  # type: ignore[arg-type]
        users = ReplayUsers(
            UserClass(name="u", tasks=(task,)),
            task,
            ctx,
            spec,
            builder,
            seed=1,
            tag="r",
            control=control,
            tally=tally,
        )
        runner = FakeRunner(clock, busy=3.0)
        users.runner = runner  # type: ignore[assignment]
        driver = ReplayDriver(
            spec=spec,
            max_in_flight=10,
            segment=(0, 1),
            users=users,
            tally=tally,
            crowd=Crowd(open_model=True),
            control=control,
        )
        await asyncio.gather(driver.drive(0.0), clock.advance_to(20.0))
        assert tally.sent == 3
        return runner

    return asyncio.run(main())


def test_session_turns_on_timestamps_go_at_their_own_time_with_the_answers_in_by_then(
    tmp_path: Path, builder: PromptBuilder
):
    """sessions: timestamps: turn 2 of session a goes at 1 s, before turn 1's answer (3 s),
    so it carries no history yet."""
    runner = session_run(tmp_path, builder, "timestamps")
    (t0a, _, first, _), (t0b, _, _, _), (t0c, at, second, _) = runner.turns
    assert (t0a, t0b, t0c, at) == (0.0, 0.5, 1.0, 1.0)
    assert len(first) == len(second) == 1


def test_session_turns_after_previous_wait_for_the_answer_then_the_trace_gap(
    tmp_path: Path, builder: PromptBuilder
):
    """sessions: after_previous: turn 2 goes at the end of turn 1's answer (3 s) plus the
    trace's 1 s gap, carrying turn 1 and its answer; its asked input counts them."""
    runner = session_run(tmp_path, builder, "after_previous")
    by_t0 = sorted(runner.turns, key=lambda t: t[0])
    t0, at, messages, asked = by_t0[-1]
    assert (t0, at) == (4.0, 4.0)
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == "ok then"
    answer_tokens = default_tokenizer().count("ok then")
    assert asked == 8 + answer_tokens + 8


def test_a_row_that_names_a_model_asks_for_it_and_its_output_length(
    tmp_path: Path, builder: PromptBuilder
):
    """The trace's model column picks the request's model (the chat's otherwise), and its
    output tokens are the length asked for."""
    path = tmp_path / "m.jsonl"
    rows = [
        {"timestamp": 0, "input_tokens": 8, "output_tokens": 5, "model": "small"},
        {"timestamp": 0.5, "input_tokens": 8, "output_tokens": 6},
        {"timestamp": 1, "input_tokens": 8, "output_tokens": 7, "model": "large"},
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in rows))
    spec = ReplaySpec(trace=path, format="jsonl", columns=columns_for("jsonl"))
    runner = session_run(tmp_path, builder, "timestamps", spec)
    assert runner.models == ["small", "builtin", "large"]
    assert runner.outputs == [5, 6, 7]
