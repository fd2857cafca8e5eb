"""The shared CLI grammar: ``--shape X Y Z`` or one value, ``--shard I/N``, ``train_options``."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from brainmri.core.cli.options import (
    TRAIN_OPTION_NAMES,
    apply_options,
    shape_option,
    shard_option,
    spacing_option,
    train_options,
)


@click.command()
@click.argument("scans", nargs=-1)
@shape_option()
@spacing_option()
@shard_option
def _command(scans, shape, spacing, shard):
    click.echo(repr((scans, shape, spacing, shard)))


def _parse(*args):
    result = CliRunner().invoke(_command, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--shape", "48", "40", "32", "a.nii"],
        ["a.nii", "--shape", "48", "40", "32"],
        ["--shape", "48", "--shape", "40", "--shape", "32", "a.nii"],
    ],
)
def test_shape_takes_x_y_z_before_or_after_the_scans(args):
    assert _parse(*args) == (0, "(('a.nii',), (48, 40, 32), None, None)\n")


def test_one_value_applies_to_every_axis_and_absence_is_none():
    assert _parse("--shape", "48", "--spacing", "1.5", "a.nii") == (
        0,
        "(('a.nii',), (48, 48, 48), (1.5, 1.5, 1.5), None)\n",
    )
    assert _parse("a.nii") == (0, "(('a.nii',), None, None, None)\n")


def test_two_values_or_a_non_number_are_refused():
    code, output = _parse("--shape", "48", "48", "a.nii")
    assert code == 2 and "one value or three" in output
    code, output = _parse("--shape", "big")
    assert code == 2 and "--shape" in output


def test_shard_is_i_of_n():
    assert _parse("a.nii", "--shard", "2/4") == (0, "(('a.nii',), None, None, (2, 4))\n")
    code, output = _parse("a.nii", "--shard", "5/4")
    assert code == 2 and "1 <= I <= N" in output


def test_train_options_take_new_defaults_and_leave_options_out():
    @click.command()
    def train(**kw):
        click.echo(repr((kw["shape"], kw["epochs"], kw["out"])))

    command = apply_options(train_options(exclude=("metadata", "dropout"), epochs=100), train)
    names = {p.name for p in command.params}
    assert names == set(TRAIN_OPTION_NAMES) - {"metadata", "dropout"}
    result = CliRunner().invoke(command, ["--shape", "48", "48", "48", "-o", "run"])
    assert result.exit_code == 0, result.output
    assert result.output == "((48, 48, 48), 100, 'run')\n"
    with pytest.raises(ValueError, match="not train options"):
        train_options(epoch=3)
