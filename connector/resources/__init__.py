"""One builder per resource type: how to list it, its entitlements and its grants."""
