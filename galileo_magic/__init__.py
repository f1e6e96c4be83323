"""galileo-magic: short-lived Galileo access tokens in any Jupyter front end.

``%load_ext galileo_magic`` registers the ``%galileo_token`` line magic. The
Python API (``fetch_token``, ``GalileoToken`` and the error tree) works without
IPython. Heavy modules (requests, ipywidgets, anywidget, python-dotenv) are
imported only when first needed, so loading the extension stays cheap.

Layers, each importing only those above it in this list: ``defaults``,
``errors`` and ``urls``; ``auth`` (the values exchanged), ``transport``,
``responses`` and ``protocol`` (HTTP); ``credentials``; ``tokens``; ``fetch``;
``lifecycle``; ``widgets``; ``control``, ``prompts`` and ``line``; ``magics``.
``history`` (masking secrets in the history) stands apart and imports none of
them; so does the ``sandbox`` subpackage.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import (
    AuthenticationError,
    ConfigurationError,
    GalileoMagicError,
    NetworkError,
    OrganizationError,
    ServerError,
)

if TYPE_CHECKING:
    from .fetch import fetch_token
    from .magics import login_form
    from .tokens import GalileoToken

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "GalileoMagicError",
    "GalileoToken",
    "NetworkError",
    "OrganizationError",
    "ServerError",
    "fetch_token",
    "load_ipython_extension",
    "login_form",
    "unload_ipython_extension",
]
__version__ = "0.1.0"

_LAZY = {"fetch_token": ".fetch", "GalileoToken": ".tokens", "login_form": ".magics"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'galileo_magic' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%galileo_token`` and its ``%config GalileoMagics`` traits."""
    from .magics import GalileoMagics

    magics = GalileoMagics(ipython, parent=ipython)
    ipython.register_magics(magics)
    if magics not in ipython.configurables:
        ipython.configurables.append(magics)


def unload_ipython_extension(ipython: Any) -> None:
    """Stop every refresh timer and unregister the magic."""
    from .magics import GalileoMagics

    for magics in [c for c in ipython.configurables if isinstance(c, GalileoMagics)]:
        magics.close()
        ipython.configurables.remove(magics)
    registry = ipython.magics_manager.registry
    registry.pop("GalileoMagics", None)
    ipython.magics_manager.magics["line"].pop("galileo_token", None)
    from .fetch import close_clients

    close_clients()
