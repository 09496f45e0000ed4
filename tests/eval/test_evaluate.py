"""The evaluation: scoring rules on hand-made results, and whole runs writing their report files."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from eval.evaluate import SOURCE_FILE, EvalOptions, _Evaluator, run_evaluation
from eval.questions import Question, load_questions
from eval.scoring import QuestionResult, RankedRun, score
from index.embedding import HashEmbedder
from index.indexer import NewsIndex
from qa.answering import AnswerConfig
from qa.models import Answer, Citation, Hit
from ui.cli import main

CORPUS = [
    ("e1", "Pence breaks tie to confirm DeVos", "2017-02-07",
     "Vice President Mike Pence cast a tie-breaking vote on Tuesday to confirm Betsy DeVos as education secretary. "
     "The Senate had split 50-50 on the nomination. It was the first time a vice president broke a tie on a "
     "Cabinet nominee."),
    ("e2", "Syrian army nears al-Mayadin", "2017-03-10",
     "Syrian government forces are only 10 kilometers away from al-Mayadin, a report said. The army shelled "
     "positions of the militants in Dayr al-Zawr province."),
    ("e3", "Storm Doris hits Ireland", "2017-02-23",
     "Storm Doris brought winds of up to 150 kilometres per hour to Ireland on Thursday. Thousands of homes lost "
     "power in the west of the country."),
    ("e4", "Chinese exports rise in January", "2017-02-10",
     "China's exports rose 7.9 percent in January from a year earlier, customs data showed. Imports jumped 16.7 "
     "percent, the fastest pace in years."),
    ("e5", "Merkel defends refugee policy", "2017-01-16",
     "Chancellor Angela Merkel defended her refugee policy in Berlin on Monday. She said Germany would not close "
     "its borders."),
    ("e6", "Trump signs travel ban order", "2017-01-28",
     "President Donald Trump signed an executive order on Friday barring citizens of seven countries from entering "
     "the United States for 90 days."),
    ("e7", "Volcano erupts in Guatemala", "2017-02-02",
     "The Fuego volcano in Guatemala erupted on Wednesday, spewing ash nearly 5 kilometres into the sky. Airport "
     "officials in the capital closed one runway as a precaution."),
    ("e8", "Samsung heir arrested", "2017-02-17",
     "Samsung heir Lee Jae-yong was arrested on Friday over a bribery scandal. Prosecutors accuse him of paying "
     "38 million dollars to entities linked to a friend of the president."),
    ("e9", "Kenya drought declared national disaster", "2017-02-10",
     "Kenya declared the drought a national disaster on Friday. About 2.7 million people face hunger in the "
     "country, the government said."),
    ("e10", "Oscars mix-up at best picture", "2017-02-27",
     "La La Land was wrongly announced as best picture at the Oscars before the award went to Moonlight. "
     "Accountants from PwC took the blame for handing over the wrong envelope."),
    ("e11", "Dutch election won by Rutte", "2017-03-16",
     "Prime Minister Mark Rutte's party won the most seats in the Dutch election on Wednesday. The anti-Islam "
     "candidate Geert Wilders came second."),
    ("e12", "", "2017-03-01",
     "Scientists reported that a new species of frog was found in the rainforest of Brazil. The frog is smaller "
     "than a fingernail."),
]

QUESTIONS = [
    {"qid": "q1", "question": "Who cast the tie-breaking vote to confirm Betsy DeVos as education secretary?",
     "article_id": "e1", "answer": "Mike Pence",
     "evidence": "Vice President Mike Pence cast a tie-breaking vote on Tuesday to confirm Betsy DeVos as education "
                 "secretary.", "type": "who"},
    {"qid": "q2", "question": "By how much did China's exports rise, according to customs data?", "article_id": "e4",
     "answer": "7.9 percent",
     "evidence": "China's exports rose 7.9 percent in January from a year earlier, customs data showed.",
     "type": "how_many"},
    {"qid": "q3", "question": "Which accounting firm took the blame for the wrong envelope at the Oscars?",
     "article_id": "e10", "answer": "PwC",
     "evidence": "Accountants from PwC took the blame for handing over the wrong envelope.", "type": "who"},
    {"qid": "q4", "question": "How many people face hunger in Kenya because of the drought?", "article_id": "e9",
     "answer": "2.7 million",
     "evidence": "About 2.7 million people face hunger in the country, the government said.", "type": "how_many"},
    {"qid": "q5", "question": "Who won the 2019 Nobel Prize in Chemistry?", "article_id": None, "answer": None,
     "evidence": None, "type": "unanswerable", "notes": "after the corpus"},
]

SYSTEM_KEYS = {"answer_contains", "short_answer_f1", "evidence_hit", "citation_validity", "abstain_unanswerable", "abstain_answerable",
               "abstention_auroc", "n_questions", "n_answerable", "retrieval_ms_p50", "retrieval_ms_p95",
               "answer_ms_p50", "answer_ms_p95", "lost_declined", "lost_not_cited", "lost_not_read"}
COMMON_KEYS = {"hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "ndcg@10", "answer_recall@5", "latency_ms_p50",
               "latency_ms_p95"}
FRACTIONS = {"hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "ndcg@10", "answer_recall@5", "answer_contains",
             "short_answer_f1",
             "evidence_hit", "citation_validity", "abstain_unanswerable", "abstain_answerable", "abstention_auroc",
             "lost_declined", "lost_not_cited", "lost_not_read"}


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture()
def eval_files(tmp_path: Path) -> tuple[Path, Path]:
    corpus = _write_jsonl(tmp_path / "corpus.jsonl", [
        {"article_id": a, "title": t, "date": d, "url": f"http://example.org/{a}", "text": x} for a, t, d, x in CORPUS
    ])
    return corpus, _write_jsonl(tmp_path / "questions.jsonl", QUESTIONS)


def _check_metrics_shape(metrics: dict[str, Any], n_questions: int, n_answerable: int) -> None:
    for name in ("system", "bm25", "dense"):
        block = metrics[name]
        assert COMMON_KEYS <= block.keys()
        assert block["n_questions"] == n_questions and block["n_answerable"] == n_answerable
        for kind, row in block["by_type"].items():
            assert COMMON_KEYS <= row.keys(), kind
        for row in (block, *block["by_type"].values()):
            for key in FRACTIONS & row.keys():
                assert row[key] is None or 0.0 <= row[key] <= 1.0, (name, key, row[key])
            assert row["latency_ms_p50"] > 0 and row["latency_ms_p95"] >= row["latency_ms_p50"]
    assert SYSTEM_KEYS <= metrics["system"].keys()


# -- scoring rules on hand-made results ----------------------------------------------------------
def _hit(doc_id: str, pid: int) -> Hit:
    return Hit(pid, doc_id, "t", "s", "2017-01-01", 0, 10, 1.0, 0.5, 0.5)


def _result(question: Question, ranking: list[str], passages: list[str], abstained: bool, confidence: float,
            cited: list[str], valid: list[bool], short: str = "") -> QuestionResult:
    hits = tuple(_hit(d, i) for i, d in enumerate(ranking))
    run = RankedRun(hits, tuple(passages), 0.01)
    citations = tuple(Citation(n, ranking[0], "t", "s", "", "", s, 0, len(s), 0, 0, 10, 1.0)
                      for n, s in enumerate(cited, start=1))
    answer = Answer(question.question, question.question, "x", citations, abstained, confidence, short,
                    timings={"retrieval": 0.002, "answer": 0.003, "total": 0.01})
    return QuestionResult(question, {"system": run, "bm25": run, "dense": run}, answer, tuple(valid),
                          tuple(passages[:2]))  # the answerer read the first two passages


def test_score_counts_only_answerable_questions_for_retrieval_and_splits_by_type() -> None:
    q1 = Question("1", "who?", "a", "Mike Pence", "Mike Pence voted.", "who")
    q2 = Question("2", "how many?", "b", "7.9 percent", "Exports rose 7.9 percent.", "how_many")
    q3 = Question("3", "future?", None, None, None, "unanswerable")
    results = [
        _result(q1, ["x", "x", "a"], ["no", "no", "Mike  Pence voted."], False, 0.9, ["Mike Pence voted."], [True],
                short="Vice President Mike Pence"),
        _result(q2, ["y", "z"], ["exports", "imports"], True, 0.2, [], []),
        _result(q3, ["a"], ["whatever"], True, 0.3, [], []),
    ]
    metrics = score(results, (1, 2, 3, 5, 10))
    system = metrics["system"]
    assert system["n_questions"] == 3 and system["n_answerable"] == 2
    assert system["hit@1"] == 0.0 and system["hit@2"] == 0.5  # q1's gold is the 2nd distinct article
    assert system["mrr@10"] == pytest.approx(0.25)  # (1/2 + 0) / 2, q3 left out
    assert system["answer_recall@3"] == 0.5 and system["answer_recall@2"] == 0.0
    assert system["answer_contains"] == 0.5 and system["evidence_hit"] == 0.5
    assert system["short_answer_f1"] == pytest.approx(2 / 3)  # judged on q1 alone, whose cited sentence holds it
    assert system["citation_validity"] == 1.0
    assert system["abstain_unanswerable"] == 1.0 and system["abstain_answerable"] == 0.5
    assert system["abstention_auroc"] == pytest.approx(0.5)  # 0.9 > 0.3, 0.2 < 0.3
    assert system["retrieval_ms_p50"] == pytest.approx(2.0) and system["answer_ms_p50"] == pytest.approx(3.0)
    assert list(system["by_type"]) == ["who", "how_many", "unanswerable"]
    unanswerable = system["by_type"]["unanswerable"]
    assert unanswerable["hit@1"] is None and unanswerable["answer_contains"] is None
    assert unanswerable["abstain_answerable"] is None and unanswerable["abstain_unanswerable"] == 1.0
    assert system["by_type"]["who"]["abstention_auroc"] is None  # no unanswerable question of that type
    assert "answer_contains" not in metrics["bm25"]


def test_answers_not_cited_are_traced_to_where_they_were_lost() -> None:
    def question(qid: str) -> Question:
        return Question(qid, "how many?", "a", "7.9 percent", "Exports rose 7.9 percent.", "how_many")

    hold, miss = "Exports rose 7.9 percent.", "Imports fell."
    results = [
        _result(question("cited"), ["a"], [hold], False, 0.9, [hold], [True]),
        _result(question("declined"), ["a"], [hold], True, 0.1, [], []),
        _result(question("not cited"), ["b", "a"], [miss, hold], False, 0.8, [miss], [True]),
        _result(question("not read"), ["b", "c", "a"], [miss, miss, hold], False, 0.8, [miss], [True]),
        _result(Question("u", "future?", None, None, None, "unanswerable"), ["a"], [hold], True, 0.1, [], []),
    ]
    system = score(results, (1, 5, 10))["system"]
    assert system["answer_contains"] == 0.25
    assert (system["lost_declined"], system["lost_not_cited"], system["lost_not_read"]) == (0.25, 0.25, 0.25)
    assert system["by_type"]["unanswerable"]["lost_declined"] is None  # nothing to lose without a gold answer


def test_load_questions_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(QUESTIONS[0]) + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"q\.jsonl:3: malformed JSON"):
        load_questions(path)
    path.write_text(json.dumps(QUESTIONS[0]) + "\n" + json.dumps(QUESTIONS[0]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"q\.jsonl:2: qid 'q1' already used at .*q\.jsonl:1"):
        load_questions(path)
    path.write_text(json.dumps({"qid": "x", "question": "Why?", "article_id": 7}) + "\n", encoding="utf-8")
    assert load_questions(path) == [Question("x", "Why?", "7", None, None, "other")]


def test_options_validate() -> None:
    base = {"out": Path("o"), "index_dir": Path("i"), "eval_index_root": Path("e"), "cache_dir": Path("c"), "model": "m"}
    with pytest.raises(ValueError, match="needs --questions"):
        EvalOptions(**base)
    with pytest.raises(ValueError, match="cut-offs"):
        EvalOptions(**base, questions=Path("q"), ks=(0, 5))
    with pytest.raises(ValueError, match="task must be"):
        EvalOptions(**base, questions=Path("q"), task="summaries")
    assert EvalOptions(**base, questions=Path("q"), ks=(20, 2)).cutoffs == (1, 2, 3, 5, 10, 20)


# -- whole runs with the fake embedder -----------------------------------------------------------
def _options(tmp_path: Path, corpus: Path, **overrides: Any) -> EvalOptions:
    values: dict[str, Any] = {
        "out": tmp_path / "out", "index_dir": tmp_path / "index", "eval_index_root": tmp_path / "eval-indexes",
        "cache_dir": tmp_path / "cache", "model": "unused", "corpus": corpus, "answering": AnswerConfig(threshold=0.0),
        "max_tokens": 40, "show_progress": False,
    }
    values.update(overrides)
    return EvalOptions(**values)


def test_qa_run_writes_report_and_reuses_its_index(tmp_path: Path, eval_files: tuple[Path, Path],
                                                   fake_embedder: HashEmbedder) -> None:
    corpus, questions = eval_files
    options = _options(tmp_path, corpus, questions=questions)
    result = run_evaluation(options, embedder=fake_embedder)
    for name in ("report.md", "metrics.json", "run.jsonl", "recall_at_k.png"):
        assert (options.out / name).stat().st_size > 0
    metrics = json.loads((options.out / "metrics.json").read_text(encoding="utf-8"))
    _check_metrics_shape(metrics, n_questions=5, n_answerable=4)
    system = metrics["system"]
    assert system["citation_validity"] == 1.0  # threshold 0: every question is answered with citations
    assert system["abstain_answerable"] == 0.0 and system["abstain_unanswerable"] == 0.0
    assert system["hit@10"] == 1.0  # 12 articles, 50 passages retrieved: every gold article is ranked
    low, high = system["ci95"]["answer_contains"]  # 95% bootstrap interval over the 4 answerable questions
    assert low <= system["answer_contains"] <= high and "abstention_auroc" in system["ci95"]
    assert all("ci95" not in row for row in system["by_type"].values()) and "ci95" not in metrics["bm25"]
    assert f"| 95% interval | {low:.3f}-{high:.3f} |" in result.table
    assert metrics["run"]["articles"] == 12 and metrics["run"]["gold_missing_from_index"] == []
    records = [json.loads(line) for line in (options.out / "run.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["qid"] for r in records] == ["q1", "q2", "q3", "q4", "q5"]
    first = records[0]
    assert len(first["ranked_article_ids"]) == 10 == len(set(first["ranked_article_ids"]))
    assert first["citations"] and all(c["valid"] for c in first["citations"])
    assert first["top_passages"][0]["article_id"] == first["ranked_article_ids"][0]
    assert "| system (hybrid) |" in result.table and "## By question type" in result.table
    # The corpus index lives in its own folder and is reused, not rebuilt, for the same corpus.
    folders = list(options.eval_index_root.iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("corpus-") and (folders[0] / SOURCE_FILE).exists()
    store_mtime = (folders[0] / "store.sqlite").stat().st_mtime_ns
    run_evaluation(replace(options, out=tmp_path / "out2"), embedder=fake_embedder)
    assert list(options.eval_index_root.iterdir()) == folders
    assert (folders[0] / "store.sqlite").stat().st_mtime_ns == store_mtime
    # A changed corpus gets a new folder.
    corpus.write_text(corpus.read_text(encoding="utf-8").replace("Storm Doris", "Storm Ewan"), encoding="utf-8")
    run_evaluation(replace(options, out=tmp_path / "out3", limit=2), embedder=fake_embedder)
    assert len(list(options.eval_index_root.iterdir())) == 2
    assert json.loads((tmp_path / "out3" / "metrics.json").read_text())["system"]["n_questions"] == 2


def test_title_task_uses_a_title_free_index(tmp_path: Path, eval_files: tuple[Path, Path],
                                            fake_embedder: HashEmbedder) -> None:
    corpus, _ = eval_files
    options = _options(tmp_path, corpus, task="title", limit=8)
    metrics = run_evaluation(options, embedder=fake_embedder).metrics
    _check_metrics_shape(metrics, n_questions=8, n_answerable=8)
    assert list(metrics["system"]["by_type"]) == ["title"]
    assert metrics["system"]["answer_contains"] is None and metrics["system"]["abstention_auroc"] is None
    (folder,) = options.eval_index_root.iterdir()
    assert folder.name.startswith("corpus-title-")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"]["title_in_index"] is False
    records = [json.loads(line) for line in (options.out / "run.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["gold_article_id"] for r in records] == [f"e{i}" for i in range(1, 9)]
    assert records[0]["question"] == "Pence breaks tie to confirm DeVos"
    all_titles = run_evaluation(replace(options, out=tmp_path / "all", limit=None), embedder=fake_embedder).metrics
    assert all_titles["system"]["n_questions"] == 11  # e12 has no title and is skipped


# -- the real command with the real model --------------------------------------------------------
@pytest.mark.slow
def test_eval_command_end_to_end(tmp_path: Path, eval_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, questions = eval_files
    monkeypatch.chdir(tmp_path)  # no newsqa.toml of the working folder
    for key in [k for k in os.environ if k.startswith("NEWSQA_")]:
        monkeypatch.delenv(key)
    out = tmp_path / "report"
    code = main(["eval", "--questions", str(questions), "--corpus", str(corpus), "--out", str(out),
                 "--index", str(tmp_path / "index"), "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "## Retrieval" in printed and "| system (hybrid) |" in printed
    for name in ("report.md", "metrics.json", "run.jsonl", "recall_at_k.png"):
        assert (out / name).stat().st_size > 0
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    _check_metrics_shape(metrics, n_questions=5, n_answerable=4)
    system = metrics["system"]
    assert system["n_citations"] > 0 and system["citation_validity"] == 1.0
    assert system["hit@3"] == 1.0  # easy questions over 12 articles
    assert system["abstention_auroc"] is not None
    assert (tmp_path / "eval-indexes").is_dir() and not (tmp_path / "index").exists()


def test_the_evaluated_pipeline_reads_time_as_the_product_does(tmp_path: Path, tiny_index: NewsIndex) -> None:
    for mode in ("prefer", "filter"):
        options = _options(tmp_path, tmp_path / "unused.jsonl", questions=tmp_path / "q.jsonl", time_mode=mode,
                           max_question_chars=99)
        pipeline = _Evaluator(tiny_index, options).pipeline
        assert (pipeline.time_mode, pipeline.max_question_chars) == (mode, 99)
