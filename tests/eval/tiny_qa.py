"""A tiny extractive QA set for the reader's training code (eval.train_reader, eval.reader_soup), written as qa-train is."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from index.models import Article

# (fact, question, answer)
QA_FACTS = [
    ("The Nile flows north through Egypt and ends in the Mediterranean Sea.", "Where does the Nile end?",
     "the Mediterranean Sea"),
    ("Marie Curie won the Nobel Prize in Physics in 1903 with Pierre Curie.", "When did Marie Curie win the physics prize?",
     "1903"),
    ("The Eiffel Tower is 330 metres tall and stands in Paris.", "How tall is the Eiffel Tower?", "330 metres"),
    ("Mount Kilimanjaro, the highest mountain in Africa, lies in Tanzania.", "In which country is Kilimanjaro?",
     "Tanzania"),
    ("Penicillin was discovered by Alexander Fleming in London.", "Who discovered penicillin?", "Alexander Fleming"),
    ("The Amazon rainforest covers much of Brazil and Peru.", "Which rainforest covers much of Brazil?", "The Amazon"),
]
QA_NEWS = [Article("n1", "Storm hits Ireland", "Storm Doris brought strong winds to Ireland on Thursday. Power was cut."),
           Article("n2", "Exports rise", "China's exports rose 7.9 percent in January, customs data showed.")]


def write_qa_records(folder: Path, copies: int = 4) -> Path:
    """A tiny qa-train folder: QA_FACTS in `copies` contexts each, and one unanswerable question a copy."""
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "tiny.jsonl.gz", "wt", encoding="utf-8") as handle:
        for c in range(copies):
            for i, (fact, question, answer) in enumerate(QA_FACTS):
                context = f"Item {c}. {fact} It is often visited by students."
                record = {"id": f"q{c}-{i}", "dataset": "tiny", "question": question, "context": context,
                          "answers": [{"text": answer, "start": context.index(answer)}], "is_impossible": False}
                handle.write(json.dumps(record) + "\n")
            context = f"Item {c}. The library opened in 1850 in a small town."
            handle.write(json.dumps({"id": f"u{c}", "dataset": "tiny", "question": "Who closed the library?",
                                     "context": context, "answers": [], "is_impossible": True}) + "\n")
    return folder
