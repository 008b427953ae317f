from __future__ import annotations

from connector.logs import configure_logging
from connector.settings import LogFormat, LogLevel

# Tests read JSON log lines when they check them; keep the default noise at info.
configure_logging(LogLevel.INFO, LogFormat.JSON)
