"""Test-wide settings.

Under CI (``CI`` set) hypothesis runs derandomized: the same examples every run, so a
red CI always means a change broke something. Locally it explores new examples each
run, which is where new bugs are found (and then pinned as plain tests).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
