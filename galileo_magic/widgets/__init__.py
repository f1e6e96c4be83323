"""The notebook widgets: the countdown and the login form (anywidget)."""

from .countdown import CountdownWidget, countdown_line
from .form import FORM_LINE, LoginForm, LoginPanel

__all__ = ["FORM_LINE", "CountdownWidget", "LoginForm", "LoginPanel", "countdown_line"]
