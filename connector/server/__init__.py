"""The gRPC side: c1.connector.v2 servicers, error statuses, and the server process."""
