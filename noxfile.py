"""One noxfile for the monorepo (after Hydra's): lint, format, types, tests per package, demo, bench.

Every session that installs torch uses constraints.txt (torch 2.14.1 / torchvision 0.29.1).
With the uv backend, the ~5.5 GB torch download happens once per machine (uv's cache) and
later virtual environments link to it.

Each package's tests run with only core and that package installed (explain: with the task
packages whose models its tests explain). ``tests`` does this in ONE torch environment: it installs core
and runs core's tests, then installs each package alone, checks that it imports no sibling,
runs its tests and uninstalls it. CI therefore pays for one torch environment.
``tests-core``, ``tests-classify``... run one package in a fresh environment of its own.
Slow tests carry the ``slow`` marker and CI runs them too. ``-- -m "not slow"`` skips them
for a quick local run.
"""

from __future__ import annotations

import os

import nox

# uv writes no bytecode at install, and where PYTHONDONTWRITEBYTECODE is set (as on CI) Python never
# writes it either: every process then compiles torch's Python again, 5.9 s an import against 3.1 s
# (measured on a 2-core machine), in every CLI and torchrun process the tests start.
os.environ.setdefault("UV_COMPILE_BYTECODE", "1")

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "format", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = False

PYTHON = "3.11"
CONSTRAINTS = ("-c", "constraints.txt")
TASKS = ("classify", "regress", "segment", "explain")
# torchio: the bridge and --mri-artifacts; export: .bmri (safetensors) and ONNX tests
CORE = "./packages/core[hdbet,deepbet,tensorboard,torchio,export]"
TEST_DEPS = ("pytest", "xlwt", "monai")  # monai: the independent HD95 reference in segment tests
#: Packages a task package's tests need besides core and itself: explain's tests explain a
#: classifier, an age model and a segmenter (they skip, with a reason, what is not installed).
TEST_EXTRAS = {"explain": ("classify", "regress", "segment")}
#: Core's public API, type-checked (the modules task packages import).
PUBLIC_API = (
    "packages/core/src/brainmri/core/atomic.py",
    "packages/core/src/brainmri/core/batch.py",
    "packages/core/src/brainmri/core/cli/options.py",
    "packages/core/src/brainmri/core/predictor.py",
    "packages/core/src/brainmri/core/tasks.py",
    "packages/core/src/brainmri/core/report/page.py",
    "packages/core/src/brainmri/core/report/run_page.py",
    "packages/core/src/brainmri/core/report/viewer.py",
)


def _pytest(session: nox.Session, package: str) -> None:
    args = session.posargs or ["-q", "-ra", "--durations=8"]  # the slowest tests, to keep CI short
    session.run("pytest", f"packages/{package}/tests", "-p", "no:cacheprovider", *args)


def _uninstall(session: nox.Session, *packages: str) -> None:
    names = [f"brainmri-{p}" for p in packages]
    if session.venv_backend == "uv":
        session.run("uv", "pip", "uninstall", *names, external=True)
    else:
        session.run("pip", "uninstall", "-y", *names)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff over the whole tree (config once, in ruff.toml at the root)."""
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session(name="format", python=PYTHON)
def format_check(session: nox.Session) -> None:
    """``ruff format --check``: new and reformatted files (ruff.toml lists those not yet formatted)."""
    session.install("ruff")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy on core's public API (no torch needed: its imports are only annotations there)."""
    session.install("mypy", "click", "numpy")
    session.run(
        "mypy",
        "--ignore-missing-imports",
        "--follow-imports=silent",
        "--explicit-package-bases",
        "--namespace-packages",
        *PUBLIC_API,
        env={"MYPYPATH": "packages/core/src"},
    )


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Core alone, then each task package alone with core, in one environment."""
    session.install(*CONSTRAINTS, CORE, *TEST_DEPS)
    session.run("python", "-m", "brainmri.core.isolation", "core")
    _pytest(session, "core")
    for task in TASKS:
        session.log(f"=== brainmri-{task} (with core only) ===")
        session.install(*CONSTRAINTS, f"./packages/{task}")
        session.run("python", "-m", "brainmri.core.isolation", task)
        session.run(f"brainmri-{task}", "--help", silent=True)
        extras = TEST_EXTRAS.get(task, ())
        if extras:
            session.install(*CONSTRAINTS, *(f"./packages/{e}" for e in extras))
        _pytest(session, task)
        _uninstall(session, task, *extras)


def _one_package(package: str):
    def session_func(session: nox.Session) -> None:
        session.install(*CONSTRAINTS, CORE, *TEST_DEPS)
        if package != "core":
            extras = TEST_EXTRAS.get(package, ())
            session.install(*CONSTRAINTS, f"./packages/{package}", *(f"./packages/{e}" for e in extras))
        _pytest(session, package)

    session_func.__doc__ = f"brainmri-{package}'s tests with core" + (
        " only." if package == "core" else f" and {package}" + "".join(f" (+{e})" for e in TEST_EXTRAS.get(package, ()))
    )
    return session_func


for _package in ("core", *TASKS):
    nox.session(name=f"tests-{_package}", python=PYTHON)(_one_package(_package))


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
        _uninstall(session, task)


@nox.session(name="smoke-3.10", python="3.10")
def smoke_310(session: nox.Session) -> None:
    """Python 3.10 (the oldest supported): core installs, its CLI answers, its fast tests pass.

    Not in the default sessions: it costs a second torch environment.
    """
    session.install(*CONSTRAINTS, CORE, *TEST_DEPS)
    session.run("brainmri-core", "--help", silent=True)
    session.run("pytest", "packages/core/tests", "-p", "no:cacheprovider", "-q", "-m", "not slow")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The demo pipeline on synthetic data; `nox -s demo -- SCAN.nii.gz` adds a scan of yours."""
    session.install(*CONSTRAINTS, CORE, *(f"./packages/{t}" for t in TASKS))
    session.run("python", "demo/run_demo.py", "--out", "demo-output", *session.posargs)


@nox.session(python=PYTHON)
def accuracy(session: nox.Session) -> None:
    """Cross-validated accuracy on the real data in ../shared (`-- --quick`: one fold per task)."""
    session.install(*CONSTRAINTS, CORE, *(f"./packages/{t}" for t in TASKS))
    session.run("python", "benchmarks/accuracy/run.py", "--out", "accuracy-output", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks against the named peers (TorchIO, scipy, original HD-BET, MONAI); prints ratios."""
    session.install(*CONSTRAINTS, CORE, *(f"./packages/{t}" for t in TASKS), "torchio", "monai")
    session.run("python", "benchmarks/run_all.py", "--out", "bench-output", *session.posargs)
