"""structlog configuration: JSON for machines, console for people, secrets filtered out.

The redaction processor runs last before rendering, so nothing any module logs, including
exception text, can carry a Clerk secret key to the output.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog

from connector.settings import LogFormat, LogLevel

# Clerk secret keys look like sk_live_… / sk_test_…; mask any that slips into a log field.
_SECRET_PATTERN = re.compile(r"sk_(?:live|test)_[A-Za-z0-9_\-]+")
REDACTED = "[REDACTED]"


def redact(text: str) -> str:
    return _SECRET_PATTERN.sub(REDACTED, text)


def _redact_value(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(item) for item in value]
    return value


def redact_secrets(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        event_dict[key] = _redact_value(value)
    return event_dict


def configure_logging(
    level: LogLevel = LogLevel.INFO, fmt: LogFormat = LogFormat.AUTO, stream: TextIO | None = None
) -> None:
    out = stream or sys.stderr
    console = fmt is LogFormat.CONSOLE or (fmt is LogFormat.AUTO and out.isatty())
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer(colors=out.isatty())
        if console
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
