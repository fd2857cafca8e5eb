"""``python -m brainmri.regress`` (also how ``torchrun -m brainmri.regress train ...`` starts it)."""

from .cli import main

if __name__ == "__main__":
    main()
