"""The `newsqa` command: ingest, ask (--json), delete, check; user errors exit 2 naming the path or value."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import ui.wiring
from index.embedding import PACKAGED_MODEL, SentenceTransformerEmbedder
from index.indexer import NewsIndex
from index.models import Article
from qa.answering import FEATURES
from ui.cli import main
from ui.settings import Settings

ROWS = [
    {"article_id": "abc-1", "title": "Pence breaks tie to confirm DeVos",
     "text": "Vice President Mike Pence cast a tie-breaking vote on Tuesday to confirm Betsy DeVos as education "
             "secretary. The Senate had split 50-50 on the nomination.",
     "publish_date": "2017/2/7", "article_source_link": "http://abcnews.go.com/Politics/devos"},
    {"article_id": "dw-1", "title": "Merkel defends refugee policy",
     "text": "Chancellor Angela Merkel defended her refugee policy in Berlin on Monday. She said Germany would not "
             "close its borders.", "publish_date": "2017/1/16", "article_source_link": "http://www.dw.com/en/merkel"},
]
PAGE = ("News / Europe\n\nStorm Doris hits Ireland\n\nWaves at Salthill on Thursday. (AFP photo)\n\n"
        "Storm Doris brought winds of up to 150 kilometres per hour to Ireland on Thursday.\n\n"
        "Thousands of homes lost power in the west of the country.\n\nShare this article\n")


@pytest.fixture(autouse=True)
def clean_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No newsqa.toml from the working folder, no NEWSQA_* variables from the caller."""
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("NEWSQA_")]:
        monkeypatch.delenv(key)


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [json.dumps(r) for r in ROWS]
    copy = dict(ROWS[0], article_id="abc-1-copy")  # same text under another id
    (folder / "news.jsonl").write_text("\n".join([*rows, "{not json", json.dumps(copy)]) + "\n", encoding="utf-8")
    (folder / "pages").mkdir(exist_ok=True)
    (folder / "pages" / "storm.txt").write_text(PAGE, encoding="utf-8")
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- errors that need no model ------------------------------------------------------------------
def test_ask_without_index_exits_2_naming_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ask", "Who won?", "--index", str(tmp_path / "none"))
    assert code == 2 and out == ""
    assert f"no index in {tmp_path / 'none'}" in err and err.startswith("newsqa ask: error:")


def test_train_reader_refuses_news_questions_with_a_confidence_refit(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train-reader", "--data", str(tmp_path), "--out", str(tmp_path / "out"), "--confidence-only",
                 "--news-questions", "3"])
    assert code == 2 and "--confidence-only does not train" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()



def test_train_reader_refuses_a_soup_with_a_reader_to_continue_from(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train-reader", "--data", str(tmp_path), "--out", str(tmp_path / "out"), "--soup", str(tmp_path / "a"),
                 str(tmp_path / "b"), "--init", str(tmp_path / "a")])
    assert code == 2 and "--soup averages readers already trained" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_compare_prints_two_runs_question_by_question(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, cited in (("a", [1, 0, 1]), ("b", [1, 1, 1])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.jsonl").write_text("".join(
            json.dumps({"qid": f"q{i}", "confidence": 0.5, "scores": {"answer_contains": float(c)}}) + "\n"
            for i, c in enumerate(cited)), encoding="utf-8")
    code, out, _ = run(capsys, "compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert code == 0 and "3 questions in both runs" in out
    assert "| answer_contains | 3 | 0.667 | 1.000 | +0.333 |" in out and "| 0 | 1 | 1.000 |" in out
    code, _, err = run(capsys, "compare", str(tmp_path / "a"), str(tmp_path / "missing"))
    assert code == 2 and f"{tmp_path / 'missing'}: no run.jsonl" in err


def test_ingest_missing_path_exits_2_and_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ingest", str(tmp_path / "typo.jsonl"), "--index", str(tmp_path / "ix"), "--quiet")
    assert code == 2 and str(tmp_path / "typo.jsonl") in err
    assert not (tmp_path / "ix").exists()
    code, _, err = run(capsys, "ingest", "--index", str(tmp_path / "ix"))
    assert code == 2 and "give files or folders to ingest" in err
    (tmp_path / "bad.jsonl").write_text("{not json}\n", encoding="utf-8")
    code, out, _ = run(capsys, "ingest", str(tmp_path / "bad.jsonl"), "--index", str(tmp_path / "ix"), "--quiet")
    assert code == 1 and "skipped 1: malformed JSON" in out  # every record refused: a failure for scripts
    code, _, err = run(capsys, "ask", "  ", "--index", str(tmp_path / "ix"))
    assert code == 2 and "the question is empty" in err
    code, _, err = run(capsys, "ask", "Background. " * 200 + "Who won?", "--index", str(tmp_path / "ix"))
    assert code == 2 and "limited to 2,000 characters; this one has 2,408" in err  # refused, not cut


def test_check_and_delete_without_index_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["check"], ["delete", "a1"]):
        code, _, err = run(capsys, *command, "--index", str(tmp_path / "none"))
        assert code == 2 and str(tmp_path / "none") in err, command


def test_bad_config_file_and_environment_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(capsys, "check", "--config", str(tmp_path / "missing.toml"))
    assert code == 2 and f"cannot read settings file {tmp_path / 'missing.toml'}" in err
    monkeypatch.setenv("NEWSQA_PORT", "eighty")
    code, _, err = run(capsys, "check", "--index", str(tmp_path))
    assert code == 2 and "setting port expects int, got 'eighty'" in err


def test_check_and_delete_on_an_index(tiny_index: NewsIndex, capsys: pytest.CaptureFixture[str]) -> None:
    """check and delete open the index without an embedder, so any index will do."""
    folder = str(tiny_index.folder)
    code, out, _ = run(capsys, "check", "--index", folder)
    assert code == 0 and out.splitlines()[-1] == "ok"
    assert f"{folder}: 6 articles" in out and "model hash-64" in out
    code, out, _ = run(capsys, "delete", "a2", "nope", "--index", folder)
    assert code == 0 and "deleted 1 article(s); not in the index: nope" in out
    reopened = NewsIndex.open(folder, readonly=True)
    assert "a2" not in reopened.articles and reopened.store.article("a2") is None
    code, out, _ = run(capsys, "delete", "nope", "--index", folder)
    assert code == 1 and "deleted 0 article(s)" in out
    code, out, _ = run(capsys, "check", "--index", folder)
    assert code == 0 and f"{folder}: 5 articles" in out


def test_check_recovers_files_an_interrupted_ingest_left_behind_the_store(
        tiny_index: NewsIndex, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """An ingest that committed to the store and stopped before saving the derived files is not damage."""
    folder = str(tiny_index.folder)
    with monkeypatch.context() as patched:  # the ingest "dies" between its commit and saving the files
        patched.setattr(NewsIndex, "_persist_derived", lambda self: None)
        tiny_index.add([Article("late", "Late story", "A late story arrived on Friday about the harbour bridge.")],
                       show_progress=False)
    assert NewsIndex.open(folder, readonly=True).saved_behind_store()
    code, out, _ = run(capsys, "check", "--index", folder)
    assert code == 0 and out.splitlines()[-1] == "ok" and "recovered automatically" in out and "saved them" in out
    assert f"{folder}: 7 articles" in out and not NewsIndex.open(folder, readonly=True).saved_behind_store()
    code, out, _ = run(capsys, "check", "--index", folder)
    assert code == 0 and "recovered" not in out  # once saved, nothing to recover


def test_list_filters_by_outlet_date_and_text(tiny_index: NewsIndex, capsys: pytest.CaptureFixture[str]) -> None:
    folder = str(tiny_index.folder)
    code, out, _ = run(capsys, "list", "--json", "--index", folder)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 6 and set(rows[0]) == {"doc_id", "source", "date", "title", "passages", "url", "category", "near_copies"}
    stored = {a: len([p for p in tiny_index.passages if p.doc_id == a]) for a in tiny_index.articles}
    assert {r["doc_id"]: r["passages"] for r in rows} == stored
    first = rows[0]
    code, out, _ = run(capsys, "list", "--json", "--source", first["source"], "--index", folder)
    assert code == 0 and {json.loads(line)["source"] for line in out.splitlines()} == {first["source"]}
    code, out, _ = run(capsys, "list", "--json", "--from", first["date"], "--to", first["date"], "--index", folder)
    assert code == 0 and {json.loads(line)["date"] for line in out.splitlines()} == {first["date"]}
    word = first["title"].split()[0].upper()
    code, out, _ = run(capsys, "list", "--json", "--text", word, "--limit", "1", "--index", folder)
    assert code == 0 and len(out.splitlines()) == 1 and word.lower() in out.lower()
    code, out, err = run(capsys, "list", "--text", "no such phrase 100%_", "--index", folder)
    assert code == 0 and out == "" and "0 article(s)" in err
    code, _, err = run(capsys, "list", "--source", "Nope", "--index", folder)
    assert code == 2 and "'Nope'" in err


def test_list_and_ask_filter_by_category(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [dict(ROWS[0], category="politics"), dict(ROWS[1], category="world")]
    (tmp_path / "cats.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    folder = str(tmp_path / "ix")
    assert run(capsys, "ingest", str(tmp_path / "cats.jsonl"), "--index", folder, "--quiet")[0] == 0
    code, out, _ = run(capsys, "list", "--json", "--category", "world", "--index", folder)
    assert code == 0 and [json.loads(line)["doc_id"] for line in out.splitlines()] == ["dw-1"]
    code, out, _ = run(capsys, "list", "--index", folder)
    assert code == 0 and out.splitlines()[0].split("\t")[3] == "politics"
    code, _, err = run(capsys, "ask", "Who defended the refugee policy?", "--category", "sport", "--index", folder)
    assert code == 2 and "'sport'" in err and "politics, world" in err
    code, out, _ = run(capsys, "ask", "Who cast the tie-breaking vote?", "--category", "world", "--json",
                       "--index", folder)
    assert code == 0 and {c["article_id"] for c in json.loads(out)["citations"]} <= {"dw-1"}


def test_ingest_a_url_and_watch_a_feed(news_site, tmp_path: Path,  # noqa: ANN001 (conftest's NewsServer)
                                       capsys: pytest.CaptureFixture[str]) -> None:
    folder = str(tmp_path / "ix")
    code, out, _ = run(capsys, "ingest", f"{news_site.base}/story.html", "--index", folder, "--quiet")
    assert code == 0 and "added 1 articles" in out
    code, out, _ = run(capsys, "watch", f"{news_site.base}/feed.rss", "--every", "1s", "--cycles", "2",
                       "--index", folder, "--quiet")
    lines = out.splitlines()  # the first read ingests both entries; the second gets a 304
    assert code == 0 and "added 2 articles" in lines[1] and "2 new or changed" in lines[2]
    assert "1 not modified (304)" in lines[3] and lines[-1] == "stopped after 2 read(s)"
    assert (tmp_path / "ix" / "watch-state.json").is_file()
    code, out, _ = run(capsys, "list", "--json", "--index", folder)
    assert code == 0 and len(out.splitlines()) == 3
    code, _, err = run(capsys, "watch", "feed.xml", "--index", folder)
    assert code == 2 and "watch needs http(s) URLs" in err


def test_ingest_into_an_index_of_another_model_exits_2(tiny_index: NewsIndex, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    code, _, err = run(capsys, "ingest", str(corpus), "--index", str(tiny_index.folder), "--quiet")
    assert code == 2 and str(tiny_index.folder) in err and "hash-64" in err and PACKAGED_MODEL in err


# -- with the packaged model --------------------------------------------------------------------
@pytest.fixture()
def shared_model(monkeypatch: pytest.MonkeyPatch, real_embedder: SentenceTransformerEmbedder) -> None:
    """Reuse the session's loaded model for the settings' packaged model (loading it per command is slow)."""
    def make_embedder(settings: Settings) -> SentenceTransformerEmbedder:
        assert settings.model == PACKAGED_MODEL
        return real_embedder

    monkeypatch.setattr(ui.wiring, "make_embedder", make_embedder)


@pytest.fixture()
def ingested(tmp_path: Path, capsys: pytest.CaptureFixture[str], shared_model: None) -> Iterator[tuple[Path, str]]:
    folder = tmp_path / "ix"
    code, out, _ = run(capsys, "ingest", str(write_corpus(tmp_path / "corpus")), "--index", str(folder), "--quiet")
    assert code == 0
    yield folder, out


@pytest.mark.slow
def test_cli_loads_the_packaged_model_from_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No shortcuts: ingest and ask each build the model from settings (offline, sockets blocked)."""
    data = tmp_path / "one.jsonl"
    data.write_text(json.dumps(ROWS[0]) + "\n", encoding="utf-8")
    (tmp_path / "newsqa.toml").write_text(f'index_dir = "{tmp_path / "cfg-ix"}"\n', encoding="utf-8")
    code, out, _ = run(capsys, "ingest", str(data), "--quiet")
    assert code == 0 and out.startswith("added 1 articles")
    code, out, _ = run(capsys, "ask", "--json", "Who cast the tie-breaking vote to confirm DeVos?")
    answer = json.loads(out)
    assert code == 0 and answer["citations"][0]["article_id"] == "abc-1"
    manifest = json.loads((tmp_path / "cfg-ix" / "manifest.json").read_text())
    assert (manifest["config"]["model"], manifest["config"]["dim"]) == (PACKAGED_MODEL, 384)


@pytest.mark.slow
@pytest.mark.ray
def test_ingest_with_the_ray_engine_builds_the_same_index(ingested: tuple[Path, str], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`--engine ray` (a local Ray, the packaged model in an embed actor) gives the local engine's index."""
    pytest.importorskip("ray.data", reason="the Ray engine needs the `ray` extra")
    local_folder, local_out = ingested
    folder = tmp_path / "ray-ix"
    code, out, _ = run(capsys, "ingest", str(tmp_path / "corpus"), "--index", str(folder), "--quiet", "--engine", "ray")
    seconds = re.compile(r" in [0-9.]+s")
    assert code == 0 and seconds.sub("", out) == seconds.sub("", local_out)
    ours, theirs = NewsIndex.open(folder, readonly=True), NewsIndex.open(local_folder, readonly=True)
    assert ours.check() == [] and ours.store.counts() == theirs.store.counts()
    assert [ours.passage(i) for i in ours.passages.ids] == [theirs.passage(i) for i in theirs.passages.ids]
    (ids_a, a), (ids_b, b) = ours.store.vectors(ours.config.dim), theirs.store.vectors(theirs.config.dim)
    assert ids_a.tolist() == ids_b.tolist() and float(np.min(np.sum(a * b, axis=1))) > 0.999  # bfloat16 batches differ


def test_ingest_engine_ray_refuses_urls_and_a_bad_engine_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(capsys, "ingest", "https://example.org/feed.xml", "--index", str(tmp_path / "ix"),
                       "--engine", "ray")
    assert code == 2 and "--engine ray reads files" in err and not (tmp_path / "ix").exists()
    monkeypatch.setenv("NEWSQA_INGEST_ENGINE", "spark")
    code, _, err = run(capsys, "ingest", str(tmp_path), "--index", str(tmp_path / "ix"))
    assert code == 2 and "ingest_engine must be 'local' or 'ray', got 'spark'" in err


@pytest.mark.slow
def test_ingest_summary_counts_added_and_skipped(ingested: tuple[Path, str], capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    folder, out = ingested
    assert "added 3 articles (0 replaced)" in out
    assert "skipped 1: malformed JSON" in out and "news.jsonl:3" in out
    assert "skipped 1: exact duplicate of another article" in out
    code, out, _ = run(capsys, "ingest", str(tmp_path / "corpus"), "--index", str(folder), "--quiet")
    assert code == 0 and "added 0 articles" in out and "skipped 3: already indexed, unchanged" in out
    index = NewsIndex.open(folder, readonly=True)
    assert set(index.articles) == {"abc-1", "dw-1", "storm"}
    storm = index.store.article("storm")
    assert storm.title == "Storm Doris hits Ireland" and "AFP" not in storm.text and "Share" not in storm.text


@pytest.mark.slow
def test_ask_json(ingested: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    folder, _ = ingested
    code, out, _ = run(capsys, "ask", "--json", "--index", str(folder), "--quiet",
                       "Who cast the tie-breaking vote that confirmed Betsy DeVos?")
    assert code == 0
    answer = json.loads(out)  # stdout holds exactly one JSON object
    assert {"answer", "abstained", "confidence", "citations"} <= set(answer)
    assert answer["abstained"] is False and 0 < answer["confidence"] <= 1
    citation = answer["citations"][0]
    assert {"n", "article_id", "title", "source", "date", "url", "sentence", "start", "end"} <= set(citation)
    assert (citation["n"], citation["article_id"], citation["source"], citation["date"]) == (1, "abc-1", "ABC News", "2017-02-07")
    assert citation["url"] == "http://abcnews.go.com/Politics/devos" and "Pence" in citation["sentence"]
    text = NewsIndex.open(folder, readonly=True).store.article("abc-1").text
    assert text[citation["start"] : citation["end"]] == citation["sentence"]
    assert f"{citation['sentence']} [1]" in answer["answer"]


@pytest.mark.slow
def test_ask_text_filters_and_delete(ingested: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    folder, _ = ingested
    code, out, _ = run(capsys, "ask", "--index", str(folder), "How fast were the winds of Storm Doris?")
    assert code == 0 and "150 kilometres" in out and "[1] Storm Doris hits Ireland" in out
    code, out, _ = run(capsys, "ask", "--json", "--index", str(folder), "--source", "DW", "How fast were the winds?")
    assert all(c["source"] == "DW" for c in json.loads(out)["citations"])
    code, out, _ = run(capsys, "ask", "--json", "--index", str(folder), "--from", "2017-02-01", "--to", "2017-02-28",
                       "What did Angela Merkel say about the borders?")
    assert all(c["date"].startswith("2017-02") for c in json.loads(out)["citations"])
    code, _, err = run(capsys, "ask", "--index", str(folder), "--from", "7 Feb", "Anything?")
    assert code == 2 and "--from must be a date like 2017-02-28, got '7 Feb'" in err
    code, _, err = run(capsys, "ask", "--index", str(folder), "--to", "2017-02-30", "Anything?")  # no such day
    assert code == 2 and "--to must be a date like 2017-02-28, got '2017-02-30'" in err
    code, _, err = run(capsys, "ask", "--index", str(folder), "--source", "dw", "Anything?")  # outlets match exactly
    assert code == 2 and "no articles from 'dw' in this index; its outlets are: " in err and "DW" in err
    code, out, _ = run(capsys, "delete", "storm", "--index", str(folder))
    assert code == 0 and "deleted 1 article(s)" in out
    code, out, _ = run(capsys, "ask", "--json", "--index", str(folder), "How fast were the winds of Storm Doris?")
    assert all(c["article_id"] != "storm" for c in json.loads(out)["citations"])
    code, out, _ = run(capsys, "check", "--index", str(folder))
    assert code == 0 and "2 articles" in out and out.splitlines()[-1] == "ok"


def write_questions(path: Path) -> Path:
    rows = [{"qid": "1", "question": "Who cast the tie-breaking vote that confirmed Betsy DeVos?", "article_id": "abc-1"},
            {"qid": "2", "question": "Where did Angela Merkel defend her refugee policy?", "article_id": "dw-1"},
            {"qid": "3", "question": "Which team won the cricket world cup final?", "article_id": None}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.mark.slow
def test_calibrate_prints_weights_the_answerer_takes(ingested: tuple[Path, str], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    folder, _ = ingested
    code, out, err = run(capsys, "calibrate", "--questions", str(write_questions(tmp_path / "q.jsonl")),
                       "--index", str(folder), "--quiet")
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith("confidence_weights = [") and "threshold  unanswerable declined" in out
    weights = json.loads(first.split(" = ", 1)[1].split("]")[0] + "]")
    assert len(weights) == len(FEATURES) + 1 and "fitted on held-out training data" in first
    assert "threshold = " in out and "weights refitted on this file" in out


def test_calibrate_without_an_index_names_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "calibrate", "--questions", str(write_questions(tmp_path / "q.jsonl")),
                       "--index", str(tmp_path / "nothing"))
    assert code == 2 and f"no index in {tmp_path / 'nothing'}" in err


def test_ask_llm_without_a_model_url_exits_2_saying_what_to_set(tiny_index: NewsIndex,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ask", "--llm", "--index", str(tiny_index.folder), "Who cast the vote?")
    assert code == 2 and out == "" and "llm_url" in err and "NEWSQA_LLM_URL" in err


@pytest.mark.slow
def test_ask_llm_prints_both_answers_and_never_the_key(ingested: tuple[Path, str], chat_server,
                                                       capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    folder, _ = ingested
    key = "sk-cli-secret-31337"
    monkeypatch.setenv("NEWSQA_LLM_URL", chat_server.url)
    monkeypatch.setenv("NEWSQA_LLM_API_KEY", key)
    monkeypatch.setenv("NEWSQA_LLM_MODEL", "fake-llm")
    chat_server.reply = "Vice President Mike Pence cast a tie-breaking vote [1]. He was once a radio host."
    question = "Who cast the tie-breaking vote that confirmed Betsy DeVos?"
    code, out, err = run(capsys, "ask", "--llm", "--json", "--index", str(folder), "--quiet", question)
    answer = json.loads(out)
    assert code == 0 and answer["written"]["answer"] == "Vice President Mike Pence cast a tie-breaking vote [1]."
    assert answer["written"]["shown"] and "Pence" in answer["answer"]  # the extractive answer beside it
    assert [s["supported"] for s in answer["written"]["sentences"]] == [True, False]
    assert chat_server.requests[-1][1]["Authorization"] == f"Bearer {key}"
    code, text, err2 = run(capsys, "ask", "--llm", "--index", str(folder), "--quiet", question)
    assert code == 0 and text.startswith("Written answer (fake-llm")
    assert "not shown, unsupported: “He was once a radio host.” (cites no source)" in text
    assert "Extractive answer:" in text
    chat_server.mode = "500"
    code, text, err3 = run(capsys, "ask", "--llm", "--index", str(folder), "--quiet", question)
    assert code == 0 and "Written answer: none. The language model gave no answer (server-error" in text
    assert all(key not in s for s in (out, err, text, err2, err3))
