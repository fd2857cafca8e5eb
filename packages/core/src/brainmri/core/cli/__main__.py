"""``python -m brainmri.core.cli`` runs the brainmri-core command."""

from . import main

main()
