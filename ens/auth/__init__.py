"""Login and the OAuth 2.0 authorization server of the ENS API."""
