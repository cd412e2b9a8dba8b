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
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from loadgen.core.promseries import Family, Labels

__all__ = [
    "CONTENT_TYPE_TEXT",
    "REMOTE_WRITE_HEADERS",
    "RemoteWrite",
    "exposition",
    "receiver",
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


def receiver(text: str) -> tuple[str, bool]:
    """``--out prometheus=``'s value as (URL, native): a ``histograms=native`` or
    ``histograms=classic`` query parameter is loadgen's and leaves the URL (the receiver's
    own parameters stay). ValueError naming the fix for another ``histograms`` value."""
    parts = urlsplit(text)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    wanted = [v for k, v in pairs if k == "histograms"]
    if any(v not in ("native", "classic") for v in wanted):
        raise ValueError(
            f"{text}: histograms={wanted[0]} is not a histogram form: write "
            "histograms=native (exponential buckets; Prometheus needs "
            "--enable-feature=native-histograms) or histograms=classic (the default)"
        )
    query = urlencode([(k, v) for k, v in pairs if k != "histograms"])
    return urlunsplit(parts._replace(query=query)), bool(wanted) and wanted[-1] == "native"


_messages: dict[str, Any] = {}


#: The remote write 1.0 messages loadgen writes: (message, ((field, number, type, repeated,
#: message type), …)), types as FieldDescriptorProto names. Histogram has integer counts
#: only (the float halves of its oneofs, and negative buckets, are never written).
_SCHEMA: tuple[tuple[str, tuple[tuple[str, int, str, bool, str], ...]], ...] = (
    ("Label", (("name", 1, "STRING", False, ""), ("value", 2, "STRING", False, ""))),
    ("Sample", (("value", 1, "DOUBLE", False, ""), ("timestamp", 2, "INT64", False, ""))),
    ("BucketSpan", (("offset", 1, "SINT32", False, ""), ("length", 2, "UINT32", False, ""))),
    (
        "Histogram",
        (
            ("count_int", 1, "UINT64", False, ""),
            ("sum", 3, "DOUBLE", False, ""),
            ("schema", 4, "SINT32", False, ""),
            ("zero_threshold", 5, "DOUBLE", False, ""),
            ("zero_count_int", 6, "UINT64", False, ""),
            ("positive_spans", 11, "MESSAGE", True, "BucketSpan"),
            ("positive_deltas", 12, "SINT64", True, ""),
            ("timestamp", 15, "INT64", False, ""),
        ),
    ),
    (
        "TimeSeries",
        (
            ("labels", 1, "MESSAGE", True, "Label"),
            ("samples", 2, "MESSAGE", True, "Sample"),
            ("histograms", 4, "MESSAGE", True, "Histogram"),
        ),
    ),
    (
        "MetricMetadata",
        (
            ("type", 1, "INT32", False, ""),  # an enum on the wire is a varint, as int32
            ("metric_family_name", 2, "STRING", False, ""),
            ("help", 4, "STRING", False, ""),
            ("unit", 5, "STRING", False, ""),
        ),
    ),
    (
        "WriteRequest",
        (
            ("timeseries", 1, "MESSAGE", True, "TimeSeries"),
            ("metadata", 3, "MESSAGE", True, "MetricMetadata"),
        ),
    ),
)


def _message_classes() -> dict[str, Any]:
    """WriteRequest and its parts, from a descriptor built here (once) from ``_SCHEMA``."""
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
    for name, fields in _SCHEMA:
        msg = proto.message_type.add(name=name)
        for field_name, number, kind, repeated, type_name in fields:
            label = d.LABEL_REPEATED if repeated else d.LABEL_OPTIONAL
            f = msg.field.add(name=field_name, number=number, type=getattr(d, "TYPE_" + kind))
            f.label = label
            if type_name:
                f.type_name = f".prometheus.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    for name, _ in _SCHEMA:
        _messages[name] = message_factory.GetMessageClass(
            pool.FindMessageTypeByName(f"prometheus.{name}")
        )
    return _messages


class RemoteWrite:
    """Remote write bodies for one exporter: one ``WriteRequest`` kept from push to push.

    A run's series only grow in number and their labels never change, so each push sets the
    new values and timestamp on the messages made before and adds messages only for new
    series, instead of building thousands of messages every second. With ``native``,
    histogram families go as native histograms (``Family.native``: one series per scope,
    exponential buckets) instead of classic ``_bucket``/``_sum``/``_count`` series; a
    receiver must accept them (Prometheus: ``--enable-feature=native-histograms``).
    ImportError (with the pip line) when protobuf or cramjam is missing.
    """

    def __init__(self, *, native: bool = False) -> None:
        try:
            import cramjam
        except ImportError as exc:
            raise ImportError(_MISSING) from exc
        self._compress = cramjam.snappy.compress_raw
        classes = _message_classes()
        self.native = native
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
            if self.native and family.kind == "histogram":
                self._natives(family, timestamp_ms)
                continue
            for name, labels, value in family.series:
                sample = samples.get((name, labels))
                if sample is None:
                    sample = samples[name, labels] = self._new_series(name, labels).samples.add()
                sample.value = value
                sample.timestamp = timestamp_ms
        return bytes(self._compress(request.SerializeToString()))

    def _natives(self, family: Family, timestamp_ms: int) -> None:
        for labels, native in family.native:
            message = self._samples.get((family.name, labels))
            if message is None:
                message = self._samples[family.name, labels] = self._new_series(
                    family.name, labels
                ).histograms.add()
            message.count_int = native.count
            message.sum = native.sum
            message.schema = native.schema
            message.timestamp = timestamp_ms
            del message.positive_spans[:]
            for offset, length in native.spans:
                message.positive_spans.add(offset=offset, length=length)
            message.positive_deltas[:] = native.deltas

    def _new_series(self, name: str, labels: Labels) -> Any:
        series = self._request.timeseries.add()
        for key, text in sorted([("__name__", name), *((k, v) for k, v in labels if v != "")]):
            series.labels.add(name=key, value=text)
        return series


def write_request(families: Sequence[Family], timestamp_ms: int, *, native: bool = False) -> bytes:
    """One body from scratch (``RemoteWrite`` for a run's pushes)."""
    return RemoteWrite(native=native).body(families, timestamp_ms)
