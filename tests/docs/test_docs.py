"""The docs run as printed: every fenced block of README.md and docs/**/*.md is run or checked.

- python blocks run as complete programs with the venv's python; sh/bash/shell blocks with bash
  (`-e -o pipefail`: every command must succeed), the venv's bin first on PATH (as after
  `source .venv/bin/activate`).
- They run against a live server on 127.0.0.1:0 over a temporary store, with the default
  configuration (rate limits included) a user's `make serve` has: `127.0.0.1:50051` (the
  address of `make serve`) in a block is replaced by the server's address, and
  `$LLMSPELL_SESSION_ADDRESS` (which the CLI and the Python client read) is set to it.
- Each document's blocks run in order in one fresh copy of the checkout (the files `git ls-files`
  lists, with `.venv` and `.tools` linked in), so relative paths (`./agent-store`, `.tools/grpcurl`,
  `pip install .`) mean what they mean in a clone, and what one block leaves the next one may use.
- toml blocks are loaded as configuration files (`llmspell_sessions.config.load_config`), json blocks
  parsed; text blocks and blocks without a language (output, diagrams, layouts) are shown only.
- A block that cannot run here says so: `<!-- docs-test: skip (reason) -->` right before it
  (tests/docs/blocks.py has the directives and the `# prints: TEXT` output checks).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from llmspell_sessions.config import load_config

from tests.docs.blocks import CHECK, RUN, SHOW, Block, blocks
from tests.helpers.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
ALL_BLOCKS = [block for doc in DOCS for block in blocks(doc)]
MAKE_SERVE_ADDRESS = "127.0.0.1:50051"
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python" if (VENV / "bin" / "python").exists() else Path(sys.executable)
TOOL = re.compile(r"(?<![\w/])\.tools/([\w.-]+)")


def _params() -> list[pytest.param]:
    params = []
    for block in ALL_BLOCKS:
        if block.language in SHOW:
            continue
        marks = [pytest.mark.slow, pytest.mark.timeout(900)] if block.directive == "slow" else []
        params.append(pytest.param(block, id=block.id, marks=marks))
    return params


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("docs-store"))
    # The defaults a user's `make serve` has (tests/conftest.py turns rate limits off for the other suites).
    process.env = {k: v for k, v in process.env.items() if not k.startswith("LLMSPELL_SESSION_")}
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def clones() -> dict[Path, Path]:
    """One copy of the checkout per document, made when its first block runs."""
    return {}


def _clone(clones: dict[Path, Path], doc: Path, base: Path) -> Path:
    if doc not in clones:
        listed = subprocess.run(
            ["git", "ls-files", "-z"],  # tracked files only: no store a reader's earlier run left behind
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        target = base / doc.relative_to(ROOT).as_posix().replace("/", "_")
        for name in filter(None, listed.split("\0")):
            source = ROOT / name
            if source.is_file():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)
        for linked in (".venv", ".tools"):
            if (ROOT / linked).exists():
                (target / linked).symlink_to(ROOT / linked)
        clones[doc] = target
    return clones[doc]


def _environment(server: ServerProcess) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMSPELL_SESSION_")}
    env.pop("PYTHONPATH", None)
    env.update(
        PATH=f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        VIRTUAL_ENV=str(VENV),
        LLMSPELL_SESSION_ADDRESS=server.address,
        PYTHONUNBUFFERED="1",
    )
    return env


def _require_tools(block: Block) -> None:
    for tool in sorted(set(TOOL.findall(block.code))):
        if not (ROOT / ".tools" / tool).exists():
            message = f"{block.id} runs .tools/{tool}: `make tools` installs it"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
    if re.search(r"(?<![\w-])jq\b", block.code) and shutil.which("jq") is None:
        pytest.fail(f"{block.id} pipes into jq, which is not installed (apt-get install jq)")


def _check_output(block: Block, stdout: str) -> None:
    lines = [line.strip() for line in stdout.splitlines()]
    position = 0
    for expected in block.expected_lines():
        try:
            position = lines.index(expected, position) + 1
        except ValueError:
            pytest.fail(f"{block.id}: expected a line {expected!r} (in order) in the output:\n{stdout}")


@pytest.mark.parametrize("block", _params())
def test_block(
    block: Block, server: ServerProcess, clones: dict[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    if block.directive == "skip":
        pytest.skip(f"{block.id}: {block.reason}")
    if block.language == "json":
        json.loads(block.code)
        return
    scratch = tmp_path_factory.mktemp("block")
    if block.language == "toml":
        config = scratch / "config.toml"
        config.write_text(block.code)
        load_config(config, environ={})  # raises on an unknown key or an invalid value
        return
    assert block.language in RUN
    _require_tools(block)
    cwd = _clone(clones, block.path, tmp_path_factory.getbasetemp() / "clones")
    code = block.code.replace(MAKE_SERVE_ADDRESS, server.address)
    if block.language == "python":
        script = scratch / f"block_{block.line}.py"
        command = [str(PYTHON), str(script)]
    else:
        script = scratch / f"block_{block.line}.sh"
        command = ["bash", "-e", "-o", "pipefail", str(script)]
    script.write_text(code)
    timeout = 900 if block.directive == "slow" else 180
    result = subprocess.run(
        command,
        cwd=cwd,
        env=_environment(server),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # as on a terminal: what a tool prints on stderr is output too
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{block.id} exited {result.returncode}:\n{code}\n{result.stdout}"
    _check_output(block, result.stdout)


def test_every_block_has_a_known_language() -> None:
    unknown = [f"{b.id} ```{b.language}" for b in ALL_BLOCKS if b.language not in RUN | CHECK | SHOW]
    assert not unknown, f"run it (python, sh), check it (toml, json) or show it (text): {unknown}"


def test_skips_are_rare_and_explained() -> None:
    """A skipped block names why; most blocks run (the point of this suite)."""
    runnable = [b for b in ALL_BLOCKS if b.language in RUN | CHECK]
    skipped = [b for b in runnable if b.directive == "skip"]
    assert all(len(b.reason) > 10 for b in skipped)
    assert len(skipped) * 2 < len(runnable), [b.id for b in skipped]


# `pip install llmspell-sessions...` needs the package on an index; from a checkout it is `pip install .`.
INDEX_INSTALL = re.compile(r"pip install (?:-\S+ )*[\"']?llmspell-sessions\b")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_index_installs_are_labelled(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    unlabelled = [
        text[max(0, m.start() - 80) : m.end() + 80]
        for m in INDEX_INSTALL.finditer(text)
        if "once published" not in " ".join(text[max(0, m.start() - 200) : m.end() + 200].lower().split())
    ]
    assert not unlabelled, "install from the checkout (pip install .), or say 'once published':\n" + "\n".join(
        unlabelled
    )


def test_the_blocks_are_found() -> None:
    """The parser sees the README's blocks (a broken fence regex would make every test above vacuous)."""
    readme = [b for b in ALL_BLOCKS if b.path.name == "README.md"]
    languages = {b.language for b in readme}
    assert {"python", "sh", "toml"} <= languages, languages
    assert any("SessionClient" in b.code for b in readme if b.language == "python")


# `".[langgraph]"`, `llmspell-sessions[adk]`: the extras an install command names.
EXTRAS = re.compile(r"(?:[\"'` ]\.|llmspell-sessions)\[([\w,-]+)\]")


def test_the_extras_the_docs_name_exist() -> None:
    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    named = {extra for doc in DOCS for group in EXTRAS.findall(doc.read_text()) for extra in group.split(",")}
    assert {"langgraph", "openai-agents", "adk"} <= named, named  # the regex still finds them
    assert named <= declared, named - declared


INTEGRATION_PROGRAMS = [b for b in ALL_BLOCKS if b.language == "python" and b.path.parent.name == "integrations"]


def _sessions_in(store: Path) -> int:
    if not store.exists():
        return 0
    from llmspell_sessions import SessionManager

    with SessionManager(storage_path=str(store)) as manager:
        return manager.list_sessions(page_size=1000).total_size


@pytest.mark.parametrize("block", INTEGRATION_PROGRAMS, ids=lambda b: b.id)
def test_an_integration_program_runs_again_as_printed(
    block: Block, server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A reader runs the program twice in one directory: it prints what the page says both times, and
    the second run leaves no more sessions behind than the first (each run cleans up after itself)."""
    assert block.directive != "skip", block.id
    cwd = tmp_path_factory.mktemp("rerun")
    script = cwd / "program.py"
    script.write_text(block.code.replace(MAKE_SERVE_ADDRESS, server.address))
    left = []
    for _ in range(2):
        result = subprocess.run(
            [str(PYTHON), str(script)],
            cwd=cwd,
            env=_environment(server),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, f"{block.id} exited {result.returncode}:\n{result.stdout}"
        _check_output(block, result.stdout)
        left.append(_sessions_in(cwd / "agent-store"))
    assert left[1] <= left[0], f"{block.id}: sessions in ./agent-store after each run: {left}"
