"""Python warnings shown to command-line users as one clean line each.

Python prints a warning as ``/path/to/module.py:123: UserWarning: message`` followed by the
source line that raised it: two lines of noise around the message, in a terminal or a job
log. Commands (and the demo) show ``warning: message`` instead, once per distinct message,
through the ``brainmri`` logger when it has handlers, else on stderr.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator

_LOG = logging.getLogger("brainmri")


def warning_line(message, category: type[Warning]) -> str:
    """``warning: <message>`` on one line (categories other than UserWarning are named)."""
    text = " ".join(str(message).split())
    kind = "" if category is UserWarning or category.__name__.endswith("QCWarning") else f" ({category.__name__})"
    return f"warning: {text}{kind}"


@contextlib.contextmanager
def clean_warnings() -> Iterator[None]:
    """Within the block, each warning is one line (see module docstring); restored afterwards."""
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = warning_line(message, category)
        if text in seen:
            return
        seen.add(text)
        if _LOG.handlers:
            _LOG.warning(text)
        else:
            print(text, file=sys.stderr if file is None else file, flush=True)

    previous = warnings.showwarning
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous
