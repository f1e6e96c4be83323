"""The notebook widgets: the countdown and the login form (anywidget)."""

from .countdown import CountdownWidget, countdown_line

__all__ = ["CountdownWidget", "countdown_line"]
