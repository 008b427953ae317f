"""clerk-connector: serve a Clerk instance over the c1.connector.v2 gRPC protocol."""

__version__ = "0.1.0"
