"""``python -m brainmri.segment`` (also how ``torchrun -m brainmri.segment train ...`` starts it)."""

from .cli import main

if __name__ == "__main__":
    main()
