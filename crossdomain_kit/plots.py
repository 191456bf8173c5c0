"""Plot helpers. Each takes ``ax=None`` (a new figure when None) and returns what it drew.

Nothing here changes matplotlib's global settings.
"""

from __future__ import annotations
