from __future__ import annotations

from connector.logs import configure_logging
from connector.settings import LogFormat, LogLevel

# Tests read JSON log lines (debug included: secret checks must see every request event).
configure_logging(LogLevel.DEBUG, LogFormat.JSON)
