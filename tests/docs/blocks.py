"""The fenced code blocks of a Markdown file, with the `<!-- docs-test: ... -->` directive before each.

A directive is an HTML comment on the last non-blank line before the opening fence (it does not render):

    <!-- docs-test: skip (why this block cannot run here) -->
    <!-- docs-test: slow (why it takes long) -->          runs, but not under `-m "not slow"`

Expected output: a line of a python or shell block may end with a comment holding `prints: TEXT`
(`# prints: TEXT`, `# exit 0; prints: TEXT`); the runner then checks that the block's output (stdout
and stderr, as on a terminal) has a line equal to TEXT (both stripped), in the order of those comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<info>[^`\s]*)[^`]*$")
_DIRECTIVE = re.compile(r"^<!--\s*docs-test:\s*(?P<word>\w+)\s*(?:\((?P<reason>.+)\))?\s*-->$")
_PRINTS = re.compile(r"#[^#]*?\bprints: (?P<text>.*)$")

# Blocks that are run or checked, and blocks that only show something (output, diagrams, layouts).
RUN = {"python", "sh", "bash", "shell"}
CHECK = {"toml", "json"}
SHOW = {"", "text"}


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    directive: str  # "", "skip" or "slow"
    reason: str

    @property
    def id(self) -> str:
        return f"{self.path.name}:{self.line}"

    def expected_lines(self) -> list[str]:
        """The TEXT of each `# prints: TEXT` comment, in order."""
        return [m.group("text").strip() for m in map(_PRINTS.search, self.code.splitlines()) if m]


def blocks(path: Path) -> list[Block]:
    """Every fenced block of `path`; an unclosed fence or a malformed directive is an error."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, language = match.group("fence"), match.group("info").lower()
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == fence), None)
        if end is None:
            raise ValueError(f"{path}:{i + 1}: unclosed code fence")
        directive, reason = _directive_before(path, lines, i)
        code = "\n".join(lines[i + 1 : end]) + "\n"
        found.append(Block(path, i + 1, language, code, directive, reason))
        i = end + 1
    return found


def _directive_before(path: Path, lines: list[str], fence: int) -> tuple[str, str]:
    previous = next((lines[j].strip() for j in range(fence - 1, -1, -1) if lines[j].strip()), "")
    if "docs-test" not in previous:
        return "", ""
    match = _DIRECTIVE.match(previous)
    if not match or match.group("word") not in {"skip", "slow"} or not match.group("reason"):
        raise ValueError(f"{path}:{fence}: expected <!-- docs-test: skip|slow (reason) -->, got {previous!r}")
    return match.group("word"), match.group("reason").strip()
