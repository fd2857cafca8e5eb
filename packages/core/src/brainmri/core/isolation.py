"""``python -m brainmri.core.isolation TASK``: prove a package imports no sibling package.

Used by ``nox -s isolation`` in an environment holding only core and TASK: imports the
package, its CLI and (for task packages) its registered task, then checks that no other
brainmri package was imported and that none is installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

PACKAGES = ("core", "classify", "regress", "segment", "explain")


def check(name: str) -> None:
    """Import ``brainmri.<name>`` and its CLI; exit non-zero if a sibling got imported."""
    importlib.import_module(f"brainmri.{name}")
    importlib.import_module(f"brainmri.{name}.cli")
    if name != "core":
        from importlib.metadata import entry_points

        for ep in entry_points(group="brainmri.tasks"):
            if ep.value.startswith(f"brainmri.{name}."):
                ep.load()
    siblings = [p for p in PACKAGES if p not in (name, "core")]
    imported = sorted(m for m in sys.modules if any(m == f"brainmri.{s}" or m.startswith(f"brainmri.{s}.")
                                                    for s in siblings))
    installed = [s for s in siblings if importlib.util.find_spec(f"brainmri.{s}") is not None]
    if imported or installed:
        raise SystemExit(f"brainmri.{name}: imported siblings {imported}, installed siblings {installed}")
    print(f"brainmri.{name}: imports alone (with core only)")


if __name__ == "__main__":
    check(sys.argv[1])
