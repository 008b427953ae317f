"""The platform side: what acts like the governance platform and what access reviewers read.

Sync files (c1z v1 and JSON) and their loaders, the access report with its risk findings, the
diff of two syncs and the live progress of a sync. Everything here works from a `SyncResult`
(what a platform-style sync received) and the protocol messages; nothing here knows the Clerk
client, the resource builders or the server.
"""
