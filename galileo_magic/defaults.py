"""Default settings shared by the HTTP client and the magic's %config traits.

Kept in a module of their own, with no imports, so that loading the extension
does not pay for the modules that use them.
"""

DEFAULT_API_KEY_HEADER = "Galileo-API-Key"
DEFAULT_TOKEN_PATH = "/v1/token"
# Seconds per connect and per read of one HTTP step.
DEFAULT_TIMEOUT = 10.0
