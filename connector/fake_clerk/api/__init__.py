"""The fake Backend API over HTTP: the server (`server`), one request to one reply (`app`), the
endpoint table (`routes`), the spec's JSON shapes (`render`, `fragments`, `errors`), query
parsing (`params`, `filters`), the order and pages a list serves (`listing`, `paging`) and the
request counters (`stats`). Imports `data` and `behaviour`; nothing imports it but the package.
"""
