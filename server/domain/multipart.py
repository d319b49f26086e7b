"""multipart/form-data uploads (REST bodies that reach a servicer as `google.api.HttpBody`).

Parsed with python-multipart's streaming `MultipartParser`; this module only collects the parts and turns
every problem into the gateway's errors: a malformed body or an oversized text field is a 422 naming the
body or the field, a file above the limit is a 413 with a `detail`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from server.errors import PayloadTooLarge, ValidationFailed

MAX_FIELD_BYTES = 64 * 1024  # a form field (not a file) larger than this is not a parameter
MAX_PARTS = 64


@dataclass
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Form:
    """Text fields (each name may repeat: all values kept, in order) and files by field name."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        """The last value of a text field, or None when absent."""
        values = self.fields.get(name)
        return values[-1] if values else None


def _invalid(msg: str, loc: list | None = None, type_: str = "value_error") -> ValidationFailed:
    return ValidationFailed.single(loc or ["body"], msg, type_)


class _Collector:
    """MultipartParser callbacks: headers and data of each part, checked against the limits as they come."""

    def __init__(self, max_file_bytes: int, max_field_bytes: int):
        self.max_file_bytes = max_file_bytes
        self.max_field_bytes = max_field_bytes
        self.form = Form()
        self.ended = False
        self.parts = 0
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._chunks: list[bytes] = []
        self._size = 0
        self._name = ""
        self._filename: str | None = None

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": lambda d, s, e: self._header_field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_end": self.end,
        }

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise _invalid(f"Too many form parts (at most {MAX_PARTS})")
        self._headers, self._chunks, self._size = {}, [], 0

    def header_end(self) -> None:
        self._headers[bytes(self._header_field).decode("latin-1").strip().lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get("content-disposition", b""))
        name = options.get(b"name")
        if disposition != b"form-data" or name is None:
            raise _invalid("Every multipart part needs 'Content-Disposition: form-data; name=...'")
        self._name = name.decode("utf-8", "replace")
        filename = options.get(b"filename")
        self._filename = filename.decode("utf-8", "replace") if filename is not None else None

    def part_data(self, data: bytes, start: int, end: int) -> None:
        self._size += end - start
        if self._filename is not None:
            if self._size > self.max_file_bytes:
                mb = self.max_file_bytes / (1024 * 1024)
                raise PayloadTooLarge(f"File '{self._name}' is too large: the limit is {mb:g} MB")
        elif self._size > self.max_field_bytes:
            raise _invalid(f"Form field is too large (at most {self.max_field_bytes} bytes)", ["body", self._name])
        self._chunks.append(data[start:end])

    def part_end(self) -> None:
        data = b"".join(self._chunks)
        self._chunks = []
        if self._filename is not None:
            content_type = self._headers.get("content-type", b"application/octet-stream").decode("latin-1").strip()
            self.form.files[self._name] = UploadedFile(self._filename, content_type, data)
        else:
            try:
                value = data.decode("utf-8")
            except UnicodeDecodeError:
                raise _invalid("Form field is not valid UTF-8 text", ["body", self._name]) from None
            self.form.fields.setdefault(self._name, []).append(value)

    def end(self) -> None:
        self.ended = True


def parse_form(content_type: str, body: bytes, *, max_file_bytes: int, max_field_bytes: int = MAX_FIELD_BYTES) -> Form:
    """The parts of a multipart/form-data body. 422 when it is not one (or is malformed), 413 when a file is
    larger than max_file_bytes."""
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data":
        shown = kind.decode("latin-1") or "none"
        raise _invalid(f"Expected a multipart/form-data body, got content type '{shown}'")
    boundary = options.get(b"boundary")
    if not boundary:
        raise _invalid("The multipart/form-data content type has no boundary")
    collector = _Collector(max_file_bytes, max_field_bytes)
    try:
        parser = MultipartParser(boundary, collector.callbacks())
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise _invalid(f"Malformed multipart body: {exc}") from None
    except ValueError as exc:  # e.g. a boundary longer than the RFC allows
        raise _invalid(f"Malformed multipart body: {exc}") from None
    if not collector.ended:
        raise _invalid("Malformed multipart body: it ends before its closing boundary")
    return collector.form
