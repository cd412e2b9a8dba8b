"""What a model-server request costs and how it is answered, shared by every LLM route.

A request's prompt costs prefill time (``timing.prefill_per_token`` for each token the
prefix cache does not hold); its answer has a length (``max_tokens``, ``min_tokens``,
``ignore_eos``), a reasoning share (``reasoning.share``, or the request's
``reasoning_effort``) and, when it offers ``tools``, maybe a tool call. These functions
read the request, draw from the app's seeded RNG only where the config leaves a choice,
and return values the routes turn into bytes; the truth log gets the same values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from loadgen.target.llmformats import ToolCall
from loadgen.target.prefill import MESSAGE_TOKENS

if TYPE_CHECKING:
    from loadgen.target.app import App

__all__ = [
    "PromptCost",
    "effort_of",
    "message_texts",
    "pick_tool",
    "prompt_cost",
    "reasoning_count",
    "reasoning_share",
    "truth_fields",
    "usage",
]


class PromptCost(NamedTuple):
    """What the prompt costs (a named tuple: one is built per request, and cheaply)."""

    tokens: int
    """``usage.prompt_tokens``: the default tokenizer's count, plus the chat template's."""
    cached: int
    """Tokens found in the prefix cache (they cost no prefill)."""
    prefill: float
    """Seconds of TTFT charged for the other tokens."""
    cache: str | None
    """``hit`` (some tokens cached), ``miss``, or None with the prefix cache off."""


def message_texts(messages: Sequence[Any]) -> list[str]:
    """The text of each message: a string content, or its parts' ``text`` joined."""
    texts = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            content = "".join(
                str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p
            )
        texts.append(content if isinstance(content, str) else "")
    return texts


def prompt_cost(
    app: App, texts: Sequence[str | tuple[int, ...]], template: bool = True, cache: bool = True
) -> PromptCost:
    """Count ``texts`` (strings, or token ids as a completions prompt may be; each one
    message when ``template``, which adds the template's tokens) and, with ``cache``, look
    them up in the prefix cache."""
    prompts = app.prompts
    prefix = app.prefix_cache if cache else None
    if prefix is None:
        tokens = 0
        for t in texts:
            tokens += len(t) if type(t) is tuple else prompts.count(t)  # type: ignore[arg-type]
        cached = 0
    else:
        parts = [t if isinstance(t, tuple) else prompts.ids(t) for t in texts]
        tokens = sum(map(len, parts))
        cached = prefix.lookup(parts)
    if template:
        tokens += MESSAGE_TOKENS * len(texts)
    if cached >= tokens:
        cached = max(tokens - 1, 0)  # the last token is always computed
    per_token = app.config.timing.prefill_per_token
    state = None if prefix is None else ("hit" if cached else "miss")
    return PromptCost(tokens, cached, per_token * (tokens - cached), state)


def effort_of(payload: dict[str, Any]) -> Any:
    """The effort asked: chat's ``reasoning_effort`` or Responses' ``reasoning.effort``."""
    effort = payload.get("reasoning_effort")
    reasoning = payload.get("reasoning")
    if effort is None and isinstance(reasoning, dict):
        effort = reasoning.get("effort")
    return effort


def reasoning_share(app: App, payload: dict[str, Any]) -> float:
    """The share of the answer that reasons: the request's effort's, else the config's;
    ``ValueError`` for an effort the config does not name."""
    config = app.config.reasoning
    effort = effort_of(payload)
    if effort is None:
        return config.share
    found = config.effort_share(effort) if isinstance(effort, str) else None
    if found is None:
        names = ", ".join(name for name, _ in config.efforts)
        raise ValueError(f"reasoning_effort must be one of {names}")
    return found


def reasoning_count(share: float, n: int) -> int:
    """How many of ``n`` tokens reason; one is left for the answer unless the share is all."""
    if share <= 0:
        return 0
    if share >= 1:
        return n
    return min(int(n * share + 0.5), n - 1)


def _tool_name(tool: Any) -> str | None:
    """The function name of an offered tool (chat nests it under ``function``)."""
    if not isinstance(tool, dict):
        return None
    function = tool.get("function")
    name = function.get("name") if isinstance(function, dict) else tool.get("name")
    return name if isinstance(name, str) and name else None


def pick_tool(app: App, payload: dict[str, Any]) -> ToolCall | None:
    """The call this answer makes, if any: ``tool_choice`` ``none`` never calls, ``required``
    or a named function always does, ``auto`` (or none given) with ``tool_calls.rate``."""
    tools = payload.get("tools")
    if not isinstance(tools, list) or not tools:
        return None
    names = [n for n in map(_tool_name, tools) if n is not None]
    if not names:
        return None
    choice = payload.get("tool_choice", "auto")
    if choice == "none":
        return None
    if isinstance(choice, dict):
        name = _tool_name(choice)
        chosen = name if name in names else names[0]
    elif choice == "required":
        chosen = names[0]
    else:
        rate = app.config.tool_calls.rate
        if rate <= 0 or (rate < 1 and app.rng.random() >= rate):
            return None
        chosen = names[0]
    return ToolCall(chosen, f"call_{app.ids:x}")


def usage(cost: PromptCost, n: int, reasoning: int, details: bool) -> dict[str, Any]:
    """Chat and completions usage; the ``…_details`` as OpenAI and vLLM add them, when the
    prefix cache or reasoning is in play (``details``)."""
    out: dict[str, Any] = {
        "prompt_tokens": cost.tokens,
        "completion_tokens": n,
        "total_tokens": cost.tokens + n,
    }
    if cost.cache is not None:
        out["prompt_tokens_details"] = {"cached_tokens": cost.cached}
    if details:
        out["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return out


def truth_fields(
    cost: PromptCost, reasoning: int = 0, tool: ToolCall | None = None
) -> dict[str, Any]:
    """The truth log's model-server fields (docs/target.md)."""
    return {
        "cached_tokens": cost.cached,
        "prefix_cache": cost.cache,
        "prefill": cost.prefill,
        "reasoning_tokens": reasoning,
        "tool_call": tool.name if tool is not None else None,
    }
