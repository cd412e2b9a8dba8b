"""The typed profile: frozen, keyword-only dataclasses with units already normalised.

Durations are float seconds, rates float per second, fractions 0–1. Built only by
``loadgen.core.profile.build`` (which validates); the engine reads, never mutates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from loadgen.core.aws.config import AwsConfig
from loadgen.core.breakpoint import BreakpointSpec
from loadgen.core.cancel import Cancel
from loadgen.core.lengths import Length
from loadgen.core.slo import Slo
from loadgen.core.thresholds import Threshold

__all__ = [
    "AuthSpec",
    "ChatTask",
    "Condition",
    "DataPools",
    "DatasetSpec",
    "Extract",
    "HttpTask",
    "Load",
    "MetricsSpec",
    "Prefix",
    "Profile",
    "ReplaySpec",
    "ReportSpec",
    "Stage",
    "Step",
    "TargetSpec",
    "Task",
    "ThinkTime",
    "Upload",
    "UserClass",
    "WsTask",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class ThinkTime:
    """Pause between a VU's tasks: constant, uniform [low, high] or exponential with a mean."""

    kind: Literal["constant", "uniform", "exponential"] = "constant"
    low: float = 0.0
    high: float = 0.0
    mean: float = 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatTask:
    """One chat request (or a multi-turn conversation) streamed from the target."""

    # bedrock: Converse; completions, responses, embeddings: OpenAI's other endpoints
    api: Literal[
        "openai", "sse", "text", "json", "bedrock", "completions", "responses", "embeddings"
    ] = "openai"
    path: str = "/v1/chat/completions"
    model: str = "builtin"
    stream: bool = True
    max_tokens: int | None = None
    category: str | None = None  # a question pool of the data file
    prompt: str | None = None  # a fixed prompt instead of a pool
    conversation: bool = False  # run a multi-turn conversation of the data file
    include_usage: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    # generic SSE / JSON streams (api: sse | json): where content and usage are
    content_event: str | None = None  # SSE event name that carries content; None = any
    content_field: str = "content"  # dotted JSON path in the event data
    done_event: str | None = "done"
    usage_field: str | None = "usage.completion_tokens"
    body: dict[str, Any] | None = None  # request JSON template for sse/json/text ({{ prompt }})
    # The model-server workload (openai): passthrough parameters and a system message...
    params: dict[str, Any] = field(default_factory=dict)
    system: str | None = None
    # ...and prompts synthesised to a token length, with an output length asked for.
    input_tokens: Length | None = None
    output_tokens: Length | None = None
    exact_output: bool = True  # ask for exactly output_tokens: min_tokens and ignore_eos
    prefix: Prefix | None = None
    tokenizer: Path | None = None  # a tokenizer.json; None: the shipped default
    dataset: DatasetSpec | None = None  # prompts from a file instead
    batch: int = 1  # embeddings: inputs per request
    cancel: Cancel | None = None  # abandon some answers part-way (loadgen.core.cancel)


@dataclass(frozen=True, kw_only=True, slots=True)
class DatasetSpec:
    """A prompt file a chat draws from (``loadgen.core.datasets``): which fields, in what
    order, and which prompts are kept (lengths in tokens of the chat's tokenizer)."""

    path: Path
    format: str  # jsonl | csv | sharegpt
    prompt: str | None = None  # the prompt field; None: the first of the usual names
    output: str | None = None  # the output-length field; "": ignore; None: the usual names
    sample: str = "shuffle"  # sequential | random | shuffle (without replacement)
    seed: int | None = None  # None: the run's seed
    min_input_tokens: int | None = None
    max_input_tokens: int | None = None
    skip: int = 0
    max_rows: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Prefix:
    """Shared prompt prefixes for prefix-cache tests: ``count`` fixed prefixes of ``tokens``
    tokens, one drawn by weight to start each synthetic prompt."""

    tokens: int
    count: int
    weights: tuple[float, ...] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Upload:
    """A generated document sent as multipart/form-data (``size`` bytes of readable text)."""

    form_field: str = "file"
    size: int = 4000
    filename: str = "document-{{ vu }}-{{ iteration }}.txt"
    content_type: str = "text/plain"
    form: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class HttpTask:
    """A plain HTTP request measured for ttfb and e2e. Strings may hold ``{{ variables }}``."""

    method: str = "GET"
    path: str = "/"
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    body: str | None = None
    upload: Upload | None = None
    auth: bool = True  # send the VU's credentials (False for register/login)


@dataclass(frozen=True, kw_only=True, slots=True)
class WsTask:
    """A chat over WebSocket: send a question, read token messages until end-of-answer."""

    path: str = "/api/realtime/ws"
    category: str | None = None
    prompt: str | None = None
    conversation: bool = False
    message: dict[str, Any] | None = None  # JSON sent; default {"type": "message", ...}
    type_field: str = "type"
    token_type: str = "token"
    content_field: str = "content"
    end_type: str = "end"
    error_type: str = "error"
    usage_field: str | None = "usage.completion_tokens"
    token_query: str | None = "token"  # pass the auth token as ?token=; None: header
    reconnect_backoff: float = 1.0  # first backoff after a dropped connection


@dataclass(frozen=True, kw_only=True, slots=True)
class Condition:
    """One assertion on a response, shared by ``checks`` and ``count``.

    kinds: status (``values``), json (``path`` present, or ``equals``), contains (``text`` in
    the body or answer), citations (present = ``expected``), answer_length (``low``..``high``
    characters), header (``path`` = header name present, or ``equals``).
    """

    name: str
    kind: Literal["status", "json", "contains", "citations", "answer_length", "header"]
    path: str | None = None
    equals: Any = None
    has_equals: bool = False
    values: tuple[int, ...] = ()
    text: str = ""
    expected: bool = True
    low: int = 0
    high: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Extract:
    """Save part of a response into a VU variable for later steps (``{{ name }}``)."""

    name: str
    source: Literal["json", "header", "regex", "answer_length", "output_tokens", "body_size"]
    expr: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Task:
    """A weighted task or a journey step; ``name`` keys the statistics.

    Exactly one of ``chat``, ``http``, ``ws`` or ``group`` (a step that picks one of its tasks
    by weight each time it runs).
    """

    name: str
    weight: float = 1.0
    chat: ChatTask | None = None
    http: HttpTask | None = None
    ws: WsTask | None = None
    group: tuple[Task, ...] = ()
    repeat: int = 1
    think_time: ThinkTime | None = None  # after this step, instead of the class's
    extract: tuple[Extract, ...] = ()
    checks: tuple[Condition, ...] = ()
    count: tuple[Condition, ...] = ()  # custom counters: +1 when the condition holds
    observe: tuple[Extract, ...] = ()  # custom histograms: a number from each response


Step = Task  # a journey / on_start step is a task whose weight is ignored


@dataclass(frozen=True, kw_only=True, slots=True)
class AuthSpec:
    """How VUs authenticate. ``login`` requests are HttpTasks (templated with the VU's vars).

    kinds: none, bearer (``token``), api_key (``token`` in ``header`` or ``query``), login,
    cognito and sigv4 (``extra`` holds their section, read by loadgen.edge.aws).
    """

    kind: Literal["none", "bearer", "api_key", "login", "cognito", "sigv4"] = "none"
    token: str = ""
    header: str = "authorization"
    scheme: str = "Bearer"
    query: str | None = None
    login: HttpTask | None = None
    token_path: str = "access_token"
    refresh_token_path: str | None = "refresh_token"
    expires_in_path: str | None = "expires_in"
    refresh: HttpTask | None = None
    logout: HttpTask | None = None
    refresh_before: float = 30.0
    backoff: float = 1.0  # first wait after a failed login; doubles, max 60 s
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class UserClass:
    name: str
    weight: float = 1.0
    think_time: ThinkTime = field(default_factory=ThinkTime)
    tasks: tuple[Task, ...] = ()
    journey: tuple[Task, ...] = ()  # run in order each iteration, instead of picking
    on_start: tuple[Task, ...] = ()
    on_stop: tuple[Task, ...] = ()
    vars: dict[str, str] = field(default_factory=dict)  # per-VU variables (templates)
    secret_vars: frozenset[str] = frozenset()  # vars marked secret: true (redacted everywhere)
    auth: AuthSpec | None = None  # overrides the profile's auth for this class

    def every_task(self) -> Iterator[Task]:
        """Every task a user of this class may run: tasks, journey, start and stop steps,
        and the tasks inside their groups."""

        def walk(tasks: tuple[Task, ...]) -> Iterator[Task]:
            for task in tasks:
                yield task
                yield from walk(task.group)

        yield from walk((*self.tasks, *self.journey, *self.on_start, *self.on_stop))


@dataclass(frozen=True, kw_only=True, slots=True)
class Stage:
    """Ramp linearly from the previous stage's level to ``target`` over ``duration``.

    The level is users (closed model) or arrivals per second (open model).
    """

    duration: float
    target: float
    name: str | None = None  # a named stage is also reported on its own (a "phase")


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplaySpec:
    """``load: {model: replay}``: a trace file replayed from its timestamps (issue 21)."""

    trace: Path
    format: str  # loadgen.core.traces.FORMATS
    columns: Any  # loadgen.core.traces.Columns (the core's trace package owns the type)
    time_scale: float = 1.0  # 0.5: twice as fast; 1/60: an hour in a minute
    start: float = 0.0  # trace seconds skipped from its first timestamp
    duration: float | None = None  # trace seconds replayed from ``start``
    max_gap: float | None = None  # idle gaps of the trace capped to this (trace seconds)
    sessions: Literal["timestamps", "after_previous"] = "timestamps"
    block_tokens: int = 512  # tokens per hash id (Mooncake's block)


@dataclass(frozen=True, kw_only=True, slots=True)
class Load:
    model: Literal["closed", "open", "replay"] = "closed"
    stages: tuple[Stage, ...] = ()
    start: float = 0.0  # level at t = 0 before the first stage ramps
    graceful_stop: float = 10.0  # in-flight requests may finish this long after the end
    warm_connections: bool = False  # closed model: each VU's connection opened before t = 0
    # open model only
    arrival: Literal["constant", "poisson", "gamma"] = "constant"
    burstiness: float = 1.0  # gamma shape: 1 = Poisson, < 1 burstier
    max_in_flight: int = 1000  # arrivals beyond it are dropped (or queued)
    queue: bool = False  # wait for a free slot instead of dropping
    replay: ReplaySpec | None = None  # replay model only

    @property
    def duration(self) -> float:
        return sum(s.duration for s in self.stages)

    @property
    def unit(self) -> str:
        return "users" if self.model == "closed" else "rate"

    @property
    def arrivals(self) -> bool:
        """Open and replay: requests arrive on a schedule (the closed model has users)."""
        return self.model != "closed"


@dataclass(frozen=True, kw_only=True, slots=True)
class MetricsSpec:
    """``target.metrics``: the server's Prometheus pages scraped during the run."""

    urls: tuple[str, ...]  # "builtin": the built-in target's /metrics
    interval: float = 1.0
    preset: str | None = None  # None: guessed from the first page's series
    series: tuple[str, ...] = ()  # extra metric names, read as the page types them


@dataclass(frozen=True, kw_only=True, slots=True)
class Correlation:
    """How requests join a server's logs (docs/profiles.md, ``target``): the header carrying
    each request's id (None: none), a per-VU session-affinity header, and the response
    header holding the server's own request id (kept in requests.csv)."""

    request_id_header: str | None = "x-request-id"
    affinity_header: str | None = None
    server_request_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetSpec:
    base_url: str  # "builtin" starts the built-in chatbot target
    timeout: float = 60.0  # a whole request, first byte to last
    connect_timeout: float = 10.0
    verify: bool | str = True  # False, True or a CA bundle path
    headers: dict[str, str] = field(default_factory=dict)
    tokenizer: str | None = None  # a tiktoken encoding name, when the server gives no usage
    transport: Literal["fast", "httpx"] = "fast"  # for chat streams; plain tasks use httpx
    honor_retry_after: bool = True  # after a 429, wait what Retry-After says (up to the max)
    max_retry_after: float = 60.0
    max_response_size: int = 64 << 20  # bytes of one response body; more is a protocol error
    max_line: int = 1 << 20  # bytes of one SSE line; more is a protocol error
    builtin: dict[str, Any] = field(default_factory=dict)  # config of the built-in target
    metrics: MetricsSpec | None = None  # scrape the server's /metrics (docs/server-metrics.md)
    correlation: Correlation = field(default_factory=Correlation)

    @property
    def is_builtin(self) -> bool:
        return self.base_url == "builtin"


@dataclass(frozen=True, kw_only=True, slots=True)
class DataPools:
    """Questions by category and multi-turn conversations (lists of user turns)."""

    questions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    conversations: tuple[tuple[str, ...], ...] = ()
    source: str | None = None
    rows: tuple[dict[str, str], ...] = ()  # CSV rows, one per VU in turn (data.rows)
    secret_columns: frozenset[str] = frozenset()  # data.secret: columns redacted everywhere


@dataclass(frozen=True, kw_only=True, slots=True)
class ReportSpec:
    dir: str = "reports"
    formats: tuple[str, ...] = ("json", "html")
    raw: bool = False  # requests.csv: one row per request


@dataclass(frozen=True, kw_only=True, slots=True)
class Profile:
    name: str
    target: TargetSpec
    users: tuple[UserClass, ...]
    load: Load
    data: DataPools = field(default_factory=DataPools)
    seed: int | None = None
    report: ReportSpec = field(default_factory=ReportSpec)
    thresholds: tuple[Threshold, ...] = ()
    auth: AuthSpec = field(default_factory=AuthSpec)
    slo: Slo = field(default_factory=Slo)
    aws: AwsConfig | None = None  # region, endpoint, CloudWatch after the run, cost estimate
    breakpoint: BreakpointSpec | None = None
    path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the expanded YAML, secrets redacted
    secrets: frozenset[str] = frozenset()
