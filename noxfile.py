"""One noxfile for the monorepo (after Hydra's): lint, tests, isolation, demo, bench.

Every session that installs torch uses constraints.txt (torch 2.14.1 / torchvision 0.29.1).
With the uv backend, the ~5.5 GB torch download happens once per machine (uv's cache) and
later virtual environments link to it; CI creates two torch environments (tests, isolation).
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests", "isolation"]
nox.options.reuse_existing_virtualenvs = False

PYTHON = "3.11"
CONSTRAINTS = ("-c", "constraints.txt")
TASKS = ("classify", "regress", "segment", "explain")
ALL = ("./packages/core[hdbet,tensorboard]", *(f"./packages/{t}" for t in TASKS))
TEST_DEPS = ("pytest", "xlwt", "monai")  # monai: the independent HD95 reference in segment tests


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff over the whole tree (config once, in ruff.toml at the root)."""
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Install every package (as wheels) in one environment and test them one after another."""
    session.install(*CONSTRAINTS, *ALL, *TEST_DEPS)
    args = session.posargs or ["-q", "-ra"]
    for pkg in ("core", *TASKS):
        session.log(f"=== brainmri-{pkg} ===")
        session.run("pytest", f"packages/{pkg}/tests", "-p", "no:cacheprovider", *args)


@nox.session(python=PYTHON)
def isolation(session: nox.Session) -> None:
    """Each task package installs alone with core, answers --help, and imports no sibling."""
    session.install(*CONSTRAINTS, "./packages/core")
    session.run("python", "-m", "brainmri.core.isolation", "core")
    session.run("brainmri-core", "--help", silent=True)
    for task in TASKS:
        session.install(*CONSTRAINTS, f"./packages/{task}")
        session.run("python", "-m", "brainmri.core.isolation", task)
        session.run(f"brainmri-{task}", "--help", silent=True)
        session.run("uv", "pip", "uninstall", f"brainmri-{task}", external=True)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The demo pipeline on synthetic data; `nox -s demo -- SCAN.nii.gz` adds a scan of yours."""
    session.install(*CONSTRAINTS, *ALL)
    session.run("python", "demo/run_demo.py", "--out", "demo-output", *session.posargs)


@nox.session(python=PYTHON)
def accuracy(session: nox.Session) -> None:
    """Cross-validated accuracy on the real data in ../shared (`-- --quick`: one fold per task)."""
    session.install(*CONSTRAINTS, *ALL)
    session.run("python", "benchmarks/accuracy/run.py", "--out", "accuracy-output", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks against the named peers (TorchIO, scipy, original HD-BET, MONAI); prints ratios."""
    session.install(*CONSTRAINTS, *ALL, "torchio", "monai")
    session.run("python", "benchmarks/run_all.py", "--out", "bench-output", *session.posargs)
