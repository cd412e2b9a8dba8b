"""The two wire forms of ``promseries`` families: Prometheus's text exposition format (the
pull ``/metrics`` endpoint) and a remote write 1.0 body (protobuf ``WriteRequest``, snappy
block-compressed).

The protobuf messages are built at import from a small descriptor of the remote write 1.0
schema (``prometheus/prompb/types.proto`` and ``remote.proto``: the fields 1.0 receivers
read) with the ``protobuf`` package, not generated code: no ``protoc`` step, no vendored
``_pb2`` file to keep in step with the protobuf runtime. Snappy is ``cramjam`` (Rust, wheels
for every platform, no system library; python-snappy 0.7 is itself a wrapper over it).
Both are the ``prometheus`` extra; ``write_request`` says how to install them when missing.

Pure: families in, bytes or text out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from loadgen.core.promseries import Family, Labels

__all__ = [
    "CONTENT_TYPE_TEXT",
    "REMOTE_WRITE_HEADERS",
    "RemoteWrite",
    "exposition",
    "write_request",
]

CONTENT_TYPE_TEXT = "text/plain; version=0.0.4; charset=utf-8"
REMOTE_WRITE_HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}
_MISSING = "--out prometheus= needs protobuf and cramjam: pip install 'loadgen[prometheus]'"
_KINDS = {"counter": 1, "gauge": 2, "histogram": 3}  # prompb MetricMetadata.MetricType


def _escape(value: str) -> str:
    """A label value: backslash, line feed and double quote escaped."""
    return _escape_help(value).replace('"', '\\"')


def _escape_help(text: str) -> str:
    """``# HELP`` text: only backslash and line feed are escaped there."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


@lru_cache(maxsize=65536)
def _prefix(name: str, labels: Labels) -> str:
    """``name{k="v",…} `` (made once per series: the labels do not change during a run)."""
    text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels if v != "")
    return f"{name}{{{text}}} "


def exposition(families: Iterable[Family]) -> str:
    """The text exposition format (version 0.0.4), one ``# HELP``/``# TYPE`` per family."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        lines += [_prefix(name, labels) + _number(value) for name, labels, value in family.series]
    return "\n".join(lines) + "\n"


_messages: dict[str, Any] = {}


def _message_classes() -> dict[str, Any]:
    """WriteRequest and its parts, from a descriptor built here (once)."""
    if _messages:
        return _messages
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    d = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(
        name="loadgen_prompb.proto", package="prometheus", syntax="proto3"
    )

    def message(name: str, *fields: tuple[str, int, int, int, str]) -> None:
        msg = proto.message_type.add(name=name)
        for field_name, number, kind, label, type_name in fields:
            f = msg.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                f.type_name = type_name

    one, many = d.LABEL_OPTIONAL, d.LABEL_REPEATED
    message("Label", ("name", 1, d.TYPE_STRING, one, ""), ("value", 2, d.TYPE_STRING, one, ""))
    message("Sample", ("value", 1, d.TYPE_DOUBLE, one, ""), ("timestamp", 2, d.TYPE_INT64, one, ""))
    message(
        "TimeSeries",
        ("labels", 1, d.TYPE_MESSAGE, many, ".prometheus.Label"),
        ("samples", 2, d.TYPE_MESSAGE, many, ".prometheus.Sample"),
    )
    message(
        "MetricMetadata",
        ("type", 1, d.TYPE_INT32, one, ""),  # an enum on the wire is a varint, as int32
        ("metric_family_name", 2, d.TYPE_STRING, one, ""),
        ("help", 4, d.TYPE_STRING, one, ""),
        ("unit", 5, d.TYPE_STRING, one, ""),
    )
    message(
        "WriteRequest",
        ("timeseries", 1, d.TYPE_MESSAGE, many, ".prometheus.TimeSeries"),
        ("metadata", 3, d.TYPE_MESSAGE, many, ".prometheus.MetricMetadata"),
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    for name in ("WriteRequest", "TimeSeries", "Label", "Sample", "MetricMetadata"):
        _messages[name] = message_factory.GetMessageClass(
            pool.FindMessageTypeByName(f"prometheus.{name}")
        )
    return _messages


class RemoteWrite:
    """Remote write bodies for one exporter: one ``WriteRequest`` kept from push to push.

    A run's series only grow in number and their labels never change, so each push sets the
    new values and timestamp on the messages made before and adds messages only for new
    series, instead of building thousands of messages every second. ImportError (with the
    pip line) when protobuf or cramjam is missing.
    """

    def __init__(self) -> None:
        try:
            import cramjam
        except ImportError as exc:
            raise ImportError(_MISSING) from exc
        self._compress = cramjam.snappy.compress_raw
        classes = _message_classes()
        self._request = classes["WriteRequest"]()
        self._samples: dict[tuple[str, Labels], Any] = {}
        self._families: set[str] = set()

    def body(self, families: Sequence[Family], timestamp_ms: int) -> bytes:
        """A snappy-compressed remote write 1.0 body: every series at ``timestamp_ms``, its
        labels sorted by name with ``__name__`` (as the protocol requires), and the
        families' metadata."""
        request, samples = self._request, self._samples
        for family in families:
            if family.name not in self._families:
                self._families.add(family.name)
                request.metadata.add(
                    type=_KINDS[family.kind], metric_family_name=family.name, help=family.help
                )
            for name, labels, value in family.series:
                sample = samples.get((name, labels))
                if sample is None:
                    sample = samples[name, labels] = self._new_series(name, labels)
                sample.value = value
                sample.timestamp = timestamp_ms
        return bytes(self._compress(request.SerializeToString()))

    def _new_series(self, name: str, labels: Labels) -> Any:
        series = self._request.timeseries.add()
        for key, text in sorted([("__name__", name), *((k, v) for k, v in labels if v != "")]):
            series.labels.add(name=key, value=text)
        return series.samples.add()


def write_request(families: Sequence[Family], timestamp_ms: int) -> bytes:
    """One body from scratch (``RemoteWrite`` for a run's pushes)."""
    return RemoteWrite().body(families, timestamp_ms)
