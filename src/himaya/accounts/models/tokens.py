"""Personal access tokens for integrations."""
