"""How the fake misbehaves on purpose, the way Clerk is allowed to: switchable faults (`faults`,
`fault_mix`), a rate limit (`ratelimit`), a fixed delay on every response (`latency`), and
request hooks that change the data between requests (`churn`, `edits`, `trigger`). Imports
only `data`; `api` consults all of it.
"""
