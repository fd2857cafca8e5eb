"""``python -m brainmri.classify`` (also how ``torchrun -m brainmri.classify train ...`` starts it)."""

from .cli import main

if __name__ == "__main__":
    main()
