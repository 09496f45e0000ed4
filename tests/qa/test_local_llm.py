"""A real language model end to end: llama.cpp's server with Gemma 3 270M (the `llm` extra) on 127.0.0.1."""

from __future__ import annotations

import pytest

from index.indexer import NewsIndex
from qa.llm import ChatClient, LLMConfig
from qa.pipeline import QAPipeline
from qa.written import Draft, GroundedWriter

pytestmark = [pytest.mark.llm, pytest.mark.slow]

QUESTIONS = ["Who cast the tie-breaking vote to confirm Betsy DeVos?", "How strong were the winds of Storm Doris?",
             "How many kilometers are Syrian forces from al-Mayadin?"]


def test_the_local_model_writes_and_every_shown_sentence_is_checked(tiny_index: NewsIndex, local_llm: str) -> None:
    client = ChatClient(LLMConfig(local_llm, model="gemma-3-270m", timeout=120, max_tokens=80))
    qa = QAPipeline(tiny_index, writer=GroundedWriter(client, tiny_index))
    shown = 0
    for question in QUESTIONS:
        extractive = qa.ask(question)
        events = list(qa.stream_written(extractive))
        drafts = [e for e in events if isinstance(e, Draft)]
        written = events[-1].written
        assert len(drafts) >= 2, f"the reply streamed in pieces: {written.fallback}"
        assert written.claims, f"the model wrote nothing for {question!r}: {written.fallback}"
        assert "gave no answer" not in written.fallback  # a reply came, well formed, in time
        shown += bool(written.text)
        for claim in written.claims:
            assert claim.supported == (not claim.reason)
        for c in written.citations:  # what is shown cites real sentences at exact offsets
            assert tiny_index.store.article(c.doc_id).text[c.start : c.end] == c.sentence
        if written.text:
            assert all(c.supported for c in written.claims if c.text in written.text)
        print(f"{question}\n  wrote: {[(c.text, c.cites, c.reason) for c in written.claims]}\n  shown: {written.text}")
    assert shown >= 1, "no written sentence of the local model survived the checker on three easy questions"
