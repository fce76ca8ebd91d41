"""Benchmark data: random bytes, JSON-lines agent transcripts, and mixes with a share of duplicated content.

The transcripts are what an agent session stores: JSON lines of user / assistant / tool messages with
ids, timestamps, model names, token counts, tool calls with arguments, tool results (code, file
listings, search hits) and prose. The prose is drawn from a pool of sentences made of a Zipf-weighted
vocabulary of invented words, so it compresses like text (LZ4 ~2x), not like one repeated line. Every
message carries a fresh id and timestamp, so two transcripts from different seeds share no chunk.
"""

from __future__ import annotations

import itertools
import os
import random
from dataclasses import dataclass
from functools import lru_cache

MIB = 1 << 20
SYLLABLES = (
    "ka",
    "to",
    "ri",
    "men",
    "sa",
    "lo",
    "ve",
    "dan",
    "pu",
    "ex",
    "ion",
    "tra",
    "qua",
    "ble",
    "ing",
    "st",
    "or",
    "an",
    "el",
    "con",
    "pre",
    "ly",
    "ment",
    "ar",
    "is",
    "de",
    "co",
    "per",
    "ul",
    "im",
)
ROLES = ("user", "assistant", "tool", "assistant")
MODELS = ("gpt-4.1-mini", "claude-sonnet-4", "llama-3.3-70b", "qwen2.5-coder-32b")
TOOLS = ("read_file", "search_code", "run_tests", "write_file", "web_search", "list_dir", "shell")


@dataclass(frozen=True)
class Pools:
    """Everything a transcript is drawn from, made once per process."""

    words: tuple[str, ...]
    sentences: tuple[str, ...]
    code: tuple[str, ...]
    paths: tuple[str, ...]


@lru_cache(maxsize=1)
def pools(seed: int = 7) -> Pools:
    rng = random.Random(seed)
    words = tuple({"".join(rng.choice(SYLLABLES) for _ in range(rng.choice((1, 2, 2, 3, 3, 4)))) for _ in range(9000)})
    # Zipf: a few words are very common (cumulative weights, computed once)
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))
    punct = (".", ".", ".", "?", ",", ":")

    def sentence() -> str:
        chosen = rng.choices(words, cum_weights=weights, k=rng.randint(5, 22))
        return " ".join(chosen).capitalize() + rng.choice(punct)

    sentences = tuple(sentence() for _ in range(24_000))
    idents = rng.sample(words, 1500)
    code = tuple(
        rng.choice(
            (
                f"def {a}_{b}(self, {c}: int) -> list[str]:",
                f"    return [{a} for {a} in self.{b} if {a}.{c} is not None]",
                f"import {a}.{b} as {c}",
                f"    {a} = {b}.{c}({rng.randint(0, 999)}, timeout={rng.randint(1, 60)})",
                f"class {a.capitalize()}{b.capitalize()}({c.capitalize()}):",
                f"        raise {a.capitalize()}Error(f'{b} {{{c}}} failed')",
                f"    if {a} > {rng.randint(0, 4096)}: {b}.append({c})",
            )
        )
        for a, b, c in (rng.sample(idents, 3) for _ in range(8000))
    )
    paths = tuple(f"src/{rng.choice(idents)}/{rng.choice(idents)}_{rng.choice(idents)}.py" for _ in range(3000))
    return Pools(words, sentences, code, paths)


def transcript(size: int, seed: int) -> bytes:
    """``size`` bytes of JSON-lines agent transcript; different seeds give different content."""
    p = pools()
    rng = random.Random(seed)
    bits = rng.getrandbits
    session = f"{bits(64):016x}"
    ts = 1_764_000_000.0 + seed % 10_000_000
    parts: list[str] = []
    total = turn = 0
    while total < size:
        turn += 1
        ts += rng.random() * 20
        role = ROLES[turn % 4]
        head = (
            f'{{"id":"msg_{bits(96):024x}","session":"{session}","turn":{turn},"ts":{ts:.3f},'
            f'"role":"{role}","model":"{rng.choice(MODELS)}",'
        )
        if role == "tool":
            kind = rng.random()
            if kind < 0.4:
                body = "\\n".join(rng.choices(p.code, k=rng.randint(4, 40)))
            elif kind < 0.6:
                body = "\\n".join(rng.choices(p.paths, k=rng.randint(3, 30)))
            else:
                body = " ".join(rng.choices(p.sentences, k=rng.randint(2, 12)))
            line = (
                f'{head}"tool_call_id":"call_{bits(64):016x}","name":"{rng.choice(TOOLS)}",'
                f'"content":"{body}","elapsed_ms":{rng.randint(1, 9000)}}}\n'
            )
        else:
            text = " ".join(rng.choices(p.sentences, k=rng.randint(1, 14)))
            calls = ""
            if role == "assistant" and rng.random() < 0.5:
                calls = (
                    f',"tool_calls":[{{"id":"call_{bits(64):016x}","name":"{rng.choice(TOOLS)}",'
                    f'"arguments":{{"path":"{rng.choice(p.paths)}","limit":{rng.randint(10, 500)}}}}}]'
                )
            line = (
                f'{head}"content":"{text}"{calls},"usage":{{"prompt_tokens":{rng.randint(200, 120_000)},'
                f'"completion_tokens":{rng.randint(5, 4000)}}}}}\n'
            )
        parts.append(line)
        total += len(line)
    return "".join(parts).encode()[:size]


def random_bytes(size: int) -> bytes:
    return os.urandom(size)


def make(kind: str, size: int, seed: int) -> bytes:
    """``random`` or ``json`` data of the given size (random ignores the seed: always new)."""
    return random_bytes(size) if kind == "random" else transcript(size, seed)


@dataclass
class Mix:
    """Artifacts of which a share of the bytes repeats earlier segments (of earlier artifacts)."""

    artifacts: list[bytes]
    logical: int
    unique: int  # bytes of the distinct segments: logical / unique is the best possible dedup ratio

    @property
    def ideal_dedup(self) -> float:
        return self.logical / self.unique


def mix(total: int, duplicated: float, seed: int, artifact_bytes: int = 4 * MIB, segment: int = MIB) -> Mix:
    """``total`` bytes of transcripts in artifacts of ``artifact_bytes``; ``duplicated`` of the segments
    (exactly that share, placed at random, never the first) repeat a segment stored earlier."""
    rng = random.Random(seed)
    count = total // segment
    repeats = set(rng.sample(range(1, count), round(duplicated * count)))
    segments: list[bytes] = []
    unique = 0
    for index in range(count):
        if index in repeats:
            segments.append(rng.choice(segments))
        else:
            segments.append(transcript(segment, seed * 1_000_003 + index))
            unique += segment
    per = artifact_bytes // segment
    artifacts = [b"".join(segments[i : i + per]) for i in range(0, count, per)]
    return Mix(artifacts, count * segment, unique)
