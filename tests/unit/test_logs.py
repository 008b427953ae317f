"""Log format selection (`auto`: console on a terminal, JSON otherwise) and secret redaction."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator

import pytest
import structlog

from connector.logs import REDACTED, configure_logging
from connector.settings import LogFormat, LogLevel

CANARY = "sk_live_CANARY_logs_0a1b2c3d"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def emit(stream: io.StringIO, fmt: LogFormat) -> str:
    configure_logging(LogLevel.INFO, fmt, stream=stream)
    log = structlog.get_logger("test")
    log.debug("hidden_below_info")
    log.info("rpc", method="ListGrants", status="OK", duration_ms=1.5, items=3, note=CANARY)
    return stream.getvalue()


def test_auto_is_json_when_not_a_terminal() -> None:
    lines = emit(io.StringIO(), LogFormat.AUTO).splitlines()
    assert len(lines) == 1  # debug filtered out at info
    event = json.loads(lines[0])
    assert event["event"] == "rpc"
    assert (event["method"], event["status"], event["items"]) == ("ListGrants", "OK", 3)
    assert event["level"] == "info"
    assert event["timestamp"].endswith("Z")
    assert event["note"] == REDACTED


@pytest.mark.parametrize(
    ("stream", "fmt"), [(Terminal(), LogFormat.AUTO), (io.StringIO(), LogFormat.CONSOLE)]
)
def test_console_on_a_terminal_or_when_asked(stream: io.StringIO, fmt: LogFormat) -> None:
    text = re.sub(r"\x1b\[[0-9;]*m", "", emit(stream, fmt))  # colours only on a terminal
    assert "rpc" in text
    assert "method=ListGrants" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert CANARY not in text
    assert CANARY[8:] not in text


def test_forced_json_on_a_terminal() -> None:
    assert json.loads(emit(Terminal(), LogFormat.JSON))["event"] == "rpc"
