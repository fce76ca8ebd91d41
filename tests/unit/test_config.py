"""Configuration: defaults < TOML < environment < overrides; unknown keys and bad values fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from llmspell_sessions import SessionManagerConfig, load_config
from llmspell_sessions.errors import InvalidArgument


def test_defaults_match_the_contract() -> None:
    config, server = load_config(environ={})
    assert config == SessionManagerConfig()
    assert (config.max_sessions, config.max_artifacts_per_session, config.max_artifact_size) == (
        10_000,
        1000,
        100 << 20,
    )
    assert (config.rate_limit_global, config.rate_limit_per_session) == (0, 0)  # off unless configured
    assert (config.session_timeout, config.idle_timeout, config.artifact_compression_threshold) == (3600, 900, 10240)
    assert (config.storage_backend, config.max_session_bytes) == ("rocksdb", 1 << 30)
    assert server.address == "127.0.0.1:50051"


def test_precedence(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(
        'max_sessions = 5\nidle_timeout = 10\nstorage_path = "/from/toml"\n[server]\naddress = "127.0.0.1:1"\n'
    )
    env = {
        "LLMSPELL_SESSION_IDLE_TIMEOUT": "20",
        "LLMSPELL_SESSION_PATH": "/from/env",
        "LLMSPELL_SESSION_CONFIG": str(toml),
    }
    config, server = load_config(environ=env, overrides={"storage_path": "/from/flag", "max_sessions": None})
    assert (config.max_sessions, config.idle_timeout, config.storage_path) == (5, 20.0, "/from/flag")
    assert server.address == "127.0.0.1:1"


def test_tokens_from_toml(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('[[auth.tokens]]\nsha256 = "' + "ab" * 32 + '"\nsubject = "ci"\ntenant = "t1"\nrole = "admin"\n')
    _, server = load_config(toml, environ={})
    assert server.tokens[0].subject == "ci" and server.tokens[0].tenant == "t1"


@pytest.mark.parametrize(
    "text",
    [
        "unknown_key = 1\n",
        "max_sessions = 'many'\n",
        "max_sessions = 0\n",
        "storage_backend = 'sqlite'\n",
        "[server]\nport = 1\n",
        "not toml ==\n",
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(text)
    with pytest.raises(InvalidArgument):
        load_config(toml, environ={})


def test_bad_environment_value() -> None:
    with pytest.raises(InvalidArgument):
        load_config(environ={"LLMSPELL_SESSION_MAX_SESSIONS": "lots"})
