"""``python -m brainmri.explain``: the brainmri-explain command line."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="brainmri-explain")
