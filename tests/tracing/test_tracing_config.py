"""The [tracing] table, --otlp-endpoint and the OTEL_* variables decide whether spans are exported."""

from __future__ import annotations

from pathlib import Path

import pytest
from llmspell_sessions import tracing
from llmspell_sessions.config import TracingConfig, load_config
from llmspell_sessions.errors import InvalidArgument


def _tracing(tmp_path: Path, toml: str, flags: dict[str, str] | None = None) -> TracingConfig:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    return load_config(path, environ={}, tracing_overrides=flags)[1].tracing


def test_tracing_is_off_by_default() -> None:
    config = load_config(environ={})[1].tracing
    assert config == TracingConfig() and not config.active({})
    assert tracing.configure(config, environ={}) is False and not tracing.enabled()


def test_the_table_configures_it_and_the_flag_wins(tmp_path: Path) -> None:
    table = '[tracing]\notlp_endpoint = "http://collector:4317"\nservice_name = "sessions-eu"\n'
    config = _tracing(tmp_path, table)
    assert (config.otlp_endpoint, config.service_name, config.active({})) == (
        "http://collector:4317",
        "sessions-eu",
        True,
    )
    assert _tracing(tmp_path, table, {"otlp_endpoint": "http://other:4317"}).otlp_endpoint == "http://other:4317"


@pytest.mark.parametrize(
    ("config", "environ", "active"),
    [
        (TracingConfig(), {"OTEL_TRACES_EXPORTER": "otlp"}, True),
        (TracingConfig(), {"OTEL_TRACES_EXPORTER": "console,otlp"}, True),
        (TracingConfig(), {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, False),  # where, not whether
        (TracingConfig(exporter="otlp"), {}, True),
        (TracingConfig(otlp_endpoint="http://c:4317"), {"OTEL_SDK_DISABLED": "true"}, False),
        (TracingConfig(exporter="none"), {"OTEL_TRACES_EXPORTER": "otlp"}, False),
    ],
)
def test_the_standard_environment_turns_it_on_or_off(
    config: TracingConfig, environ: dict[str, str], active: bool
) -> None:
    assert config.active(environ) is active


def test_unknown_keys_and_exporters_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="unknown configuration keys"):
        _tracing(tmp_path, '[tracing]\nendpoint = "x"\n')
    with pytest.raises(InvalidArgument, match="exporter"):
        _tracing(tmp_path, '[tracing]\nexporter = "zipkin"\n')
