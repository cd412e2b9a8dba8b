"""A small ``multipart/form-data`` reader for document uploads (pure, bytes in, parts out)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Part", "boundary_of", "parse_multipart"]


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytes


def boundary_of(content_type: str) -> str:
    """The boundary parameter; ValueError when the body is not multipart/form-data."""
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        raise ValueError("send the file as multipart/form-data with a 'file' field")
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary" and value:
            return value.strip('"')
    raise ValueError("multipart/form-data without a boundary parameter")


def _disposition(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in value.split(";")[1:]:
        key, _, val = item.strip().partition("=")
        out[key.lower()] = val.strip('"')
    return out


def parse_multipart(body: bytes, boundary: str) -> list[Part]:
    """Split a body into parts; ValueError when it is not well formed."""
    delimiter = b"--" + boundary.encode()
    sections = body.split(delimiter)
    if len(sections) < 3 or not sections[-1].startswith(b"--"):
        raise ValueError("malformed multipart body: missing closing boundary")
    parts = []
    for section in sections[1:-1]:
        if section.startswith(b"\r\n"):
            section = section[2:]
        head, sep, data = section.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("malformed multipart body: part without headers")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, val = line.partition(":")
            headers[key.strip().lower()] = val.strip()
        disp = _disposition(headers.get("content-disposition", ""))
        parts.append(
            Part(
                disp.get("name", ""),
                disp.get("filename"),
                headers.get("content-type", "application/octet-stream"),
                data,
            )
        )
    return parts
