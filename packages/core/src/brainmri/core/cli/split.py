"""``brainmri-core split``: a subject-level, stratified, seeded split of a dataset, as JSON."""

from __future__ import annotations

import click

from .options import handle_errors


def _summary(records) -> str:
    import numpy as np

    ids = {s.subject_id for s in records}
    sexes = {}
    for s in records:
        sexes.setdefault(s.subject_id, s.sex)
    male = sum(v == 0 for v in sexes.values())
    female = sum(v == 1 for v in sexes.values())
    ages = np.array([s.age for s in records if s.age is not None], dtype=float)
    text = f"{len(ids):5d} subjects {len(records):5d} scans   {male} male / {female} female"
    if len(ids) - male - female:
        text += f" / {len(ids) - male - female} unknown"
    if ages.size:
        text += f"   age {ages.mean():.1f} +- {ages.std():.1f} [{ages.min():.0f}-{ages.max():.0f}]"
    return text


@click.command("split", short_help="Split a dataset into train/val/test (split.json).")
@click.option(
    "--dataset",
    "name",
    required=True,
    type=click.Choice(["ixi", "adni", "msd", "table", "bids"]),
    help="Layout of --root.",
)
@click.option(
    "--root", required=True, type=click.Path(exists=True), help="Dataset folder (table: file or folder)."
)
@click.option(
    "--metadata",
    type=click.Path(exists=True, dir_okay=False),
    help="Demographics/index file overriding the layout's default.",
)
@click.option(
    "--mask-dir",
    type=click.Path(exists=True, file_okay=False),
    help="Brain mask folder: only scans with a mask are split.",
)
@click.option(
    "--val",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.15,
    show_default=True,
    help="Fraction of subjects for validation.",
)
@click.option(
    "--test",
    type=click.FloatRange(0, 1, max_open=True),
    default=None,
    help="Fraction of subjects for testing [default: 0.15; adni: the published Labels_35 set].",
)
@click.option(
    "--kfold",
    type=click.IntRange(2, None),
    default=None,
    help="Write K cross-validation folds (fold i: i-th group is val) instead of one split.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Shuffle seed (same seed, same split).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="split.json to write.")
@handle_errors
def command(name, root, metadata, mask_dir, val, test, kfold, seed, output):
    """Split a dataset's subjects into train/val/test and write the ids as JSON.

    Splits are made per subject (all visits of a subject stay together), stratified by sex
    and age quartile when known, and reproducible from --seed. For adni (EADC-ADNI HarP) the
    published test set (Labels_35_NIFTI) is kept and validation is carved out of the
    training labels. With --kfold K the file holds K folds; load one with
    ``Split.load(path, fold=i)``. Prints the subjects, scans, sex and age of every part.
    """
    import warnings

    from ..datasets import load_dataset
    from ..errors import DatasetError
    from ..splits import PARTS, save_folds

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        index = load_dataset(name, root, metadata=metadata, mask_dir=mask_dir)
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    for what, why in index.skipped:
        click.echo(f"  skipped {what}: {why}", err=True)
    if not index.subjects:
        raise DatasetError(root, f"no usable {name} scans found")
    try:
        splits, folds = _make(index, name, val, test, kfold, seed)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if kfold:
        save_folds(folds, output)
    else:
        splits[0].save(output)
    for split in splits:
        if split.fold is not None:
            click.echo(f"fold {split.fold}:")
        for part in PARTS:
            click.echo(f"  {part:5s} {_summary(split.select(index.subjects, part))}")
    click.echo(f"wrote {output}")


def _make(index, name, val, test, kfold, seed):
    from ..splits import Split, make_split
    from ..splits import kfold as make_folds

    folds = None
    if name == "adni":
        if test is not None:
            click.echo("note: adni keeps its published test set; --test is ignored", err=True)
        train = [s for s in index.subjects if s.extra.get("split") == "train"]
        fixed = [s for s in index.subjects if s.extra.get("split") == "test"]
        if kfold:
            folds = [
                Split(
                    f.train,
                    f.val,
                    [s.subject_id for s in fixed],
                    seed=seed,
                    fractions=f.fractions,
                    method="kfold",
                    fold=f.fold,
                    k=f.k,
                )
                for f in make_folds(train, kfold, seed)
            ]
        else:
            splits = [Split.from_fixed(train, fixed, val=val, seed=seed)]
    else:
        if kfold:
            folds = make_folds(index.subjects, kfold, seed)
        else:
            splits = [make_split(index.subjects, val=val, test=0.15 if test is None else test, seed=seed)]
    return (folds if kfold else splits), folds
