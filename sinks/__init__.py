"""Sinks: where normalised batches go. `build_sink` turns a sink's settings into the sink."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sinks.base import Ack, Batch, Sink, SinkError
from sinks.file import FileSink, FileSinkSettings
from sinks.http import HttpSink, HttpSinkSettings

__all__ = ["Ack", "Batch", "FileSinkSettings", "HttpSinkSettings", "Sink", "SinkError", "SinkSettings", "build_sink"]

SinkSettings = Annotated[FileSinkSettings | HttpSinkSettings, Field(discriminator="kind")]


def build_sink(settings: FileSinkSettings | HttpSinkSettings) -> Sink:
    if isinstance(settings, FileSinkSettings):
        return FileSink(settings)
    if isinstance(settings, HttpSinkSettings):
        return HttpSink(settings)
    raise TypeError(f"unknown sink settings {type(settings).__name__}")
