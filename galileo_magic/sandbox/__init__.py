"""A local Galileo-compatible token server with seeded demo accounts."""

from .app import create_app
from .seed import Seed, default_seed
from .server import SandboxServer

__all__ = ["SandboxServer", "Seed", "create_app", "default_seed"]
