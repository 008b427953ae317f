"""The platform side: what acts like the governance platform and what access reviewers read.

The platform-style syncer, sync files (c1z v1 and JSON) and their loaders, the access report
with its risk findings, the diff of two syncs and the live progress of a sync. The reviewer
modules work from a `SyncResult` (what a sync received) and the protocol messages; nothing
here imports the Clerk client, the builders of connector.model or the server.
"""
