"""A written answer from a language model, every sentence checked against its citation (the `--llm` option).

The extractive answer comes first and stays the default: the writer is asked only when the reader found an
answer (its decline stands: a fluent model would otherwise answer what the corpus does not hold), and sees
the sentences of `qa.grounding.evidence`. What it writes is split into sentences and each is checked by
`qa.verify` against the sources it cites; the sentences that fail are not shown as supported (they are left
out of the answer and listed, with the reason, beside it). When the model cannot be reached, times out,
fails, replies with nothing usable, says the news does not say, or writes nothing that survives, the
extractive answer is shown with a one-line note saying why.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from index.indexer import NewsIndex
from qa.conversation import Turn
from qa.grounding import MAX_EVIDENCE, NOT_SAID, STOP, evidence, messages
from qa.llm import ChatModel, LLMError
from qa.models import Answer, Citation
from qa.verify import MIN_SUPPORT, Claim, check, split_claims

_DECLINE = re.compile(r"\b(?:do(?:es)?n['’]?t|do(?:es)? not|cannot|can['’]t)\s+(?:say|tell|answer|mention|state)\b",
                      re.IGNORECASE)


@dataclass(frozen=True)
class WrittenAnswer:
    """What the model wrote and what survived. `text` holds the supported sentences, `citations` the sources they
    cite; `claims` every sentence as written. Sources keep the numbers the model saw them under (`sources`)."""

    text: str
    citations: tuple[Citation, ...]
    claims: tuple[Claim, ...]
    sources: tuple[Citation, ...]  # what the model was shown
    model: str
    seconds: float
    fallback: str = ""  # why the extractive answer is shown instead; "" when this one is

    @property
    def dropped(self) -> tuple[Claim, ...]:
        return tuple(c for c in self.claims if not c.supported)

    def to_dict(self) -> dict:
        return {
            "answer": self.text, "shown": not self.fallback, "fallback": self.fallback, "model": self.model,
            "seconds": round(self.seconds, 3),
            "citations": [c.to_dict() for c in self.citations],
            "sentences": [{"text": c.text, "cites": list(c.cites), "supported": c.supported, "reason": c.reason,
                           "support": round(c.support, 3)} for c in self.claims],
        }


class Draft(NamedTuple):
    """A streamed reply so far: its raw text and the sentences already finished and checked."""

    text: str
    claims: tuple[Claim, ...]
    sources: tuple[Citation, ...]


class GroundedWriter:
    """Ask `model` to answer from numbered source sentences, and keep only what those sentences support."""

    def __init__(self, model: ChatModel, index: NewsIndex, min_support: float = MIN_SUPPORT,
                 max_sources: int = MAX_EVIDENCE) -> None:
        if not 0.0 <= min_support <= 1.0:
            raise ValueError(f"min_support must be in [0, 1], got {min_support!r}")
        if max_sources < 1:
            raise ValueError(f"max_sources must be >= 1, got {max_sources!r}")
        self.model = model
        self.index = index
        self.min_support = min_support
        self.max_sources = max_sources

    def write(self, answer: Answer, history: Sequence[Turn] = ()) -> Answer:
        """`answer` with its written counterpart attached (`answer.written`)."""
        final = answer
        for event in self.stream(answer, history):
            if isinstance(event, Answer):
                final = event
        return final

    def stream(self, answer: Answer, history: Sequence[Turn] = ()) -> Iterator[Draft | Answer]:
        """Drafts as the reply comes (each finished sentence checked at once), then the answer with `written`."""
        started = time.perf_counter()
        if answer.abstained:
            yield self._finish(answer, started, (), "", (), "The extractive reader found no answer in the "
                               "sources, so no written answer was asked for.")
            return
        sources = evidence(answer, self.index, self.max_sources)
        text, checked = "", []
        try:
            for piece in self.model.stream(messages(answer.question, sources, history), STOP):
                text += piece
                line_end = text.find("\n", len(text) - len(text.lstrip()))
                if line_end > 0:  # the answer is one line: what follows is the model running on
                    text = text[:line_end]
                    break
                finished = split_claims(text)[:-1]  # the last sentence may still grow
                for claim, cites in finished[len(checked):]:
                    checked.append(check(claim, cites, sources, self.min_support))
                yield Draft(text, tuple(checked), sources)
        except LLMError as exc:
            yield self._finish(answer, started, sources, text, tuple(checked),
                               f"The language model gave no answer ({exc.kind}: {exc}); showing the extractive answer.")
            return
        claims = list(checked)
        for claim, cites in split_claims(text)[len(checked):]:
            claims.append(check(claim, cites, sources, self.min_support))
        yield self._finish(answer, started, sources, text, tuple(claims), self._fallback(text, claims))

    def _fallback(self, text: str, claims: list[Claim]) -> str:
        if not claims or (not any(c.cites for c in claims) and (_DECLINE.search(text) or NOT_SAID in text)):
            return "The language model found no answer in the sources; showing the extractive answer."
        if not any(c.supported for c in claims):
            return (f"None of the {len(claims)} written sentences is supported by what it cites; "
                    "showing the extractive answer.")
        return ""

    def _finish(self, answer: Answer, started: float, sources: tuple[Citation, ...], text: str,
                claims: tuple[Claim, ...], fallback: str) -> Answer:
        kept = [c for c in claims if c.supported] if not fallback else []
        citations = cited_sources(kept, sources)
        shown = " ".join(_with_marks(claim.text, claim.cites) for claim in kept)
        seconds = time.perf_counter() - started
        written = WrittenAnswer(shown, citations, claims, sources, self.model.name, seconds, fallback)
        return dataclasses.replace(answer, written=written, timings={**answer.timings, "written": seconds})


def _with_marks(sentence: str, cites: Sequence[int]) -> str:
    """The sentence with its [n] marks before its closing punctuation: "… the vote [1]."."""
    marks = "".join(f"[{n}]" for n in cites)
    body = sentence.rstrip()
    end = len(body.rstrip(".!?…"))
    return f"{body[:end]} {marks}{body[end:]}"


def cited_sources(claims: Sequence[Claim], sources: Sequence[Citation]) -> tuple[Citation, ...]:
    """The sources that the supported sentences among `claims` cite, in source order."""
    cited = {n for claim in claims if claim.supported for n in claim.cites}
    return tuple(c for c in sources if c.n in cited)
