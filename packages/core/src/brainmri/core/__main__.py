"""``python -m brainmri.core`` runs the brainmri-core command (like ``python -m brainmri.classify``)."""

from .cli import main

if __name__ == "__main__":
    main()
