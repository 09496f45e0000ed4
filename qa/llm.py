"""A client for any server that speaks OpenAI's `/v1/chat/completions`: llama.cpp, Ollama, vLLM, hosted APIs.

Plain httpx rather than the `openai` package: newsqa needs one endpoint, one total deadline across a streamed
reply (httpx's timeouts are per read, so a server that drips a token every few seconds would otherwise hold the
chat for ever), and errors sorted into the few kinds the answerer falls back on. httpx is already a dependency
(index/fetch.py); the `openai` package would add a second HTTP stack for the same request.

The API key is sent as a bearer token and nowhere else: not in `repr`, errors or logs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import httpx

# Why a reply could not be used; each falls back to the extractive answer with a one-line note.
FAILURES = ("unreachable", "timeout", "rate-limited", "server-error", "refused", "empty", "malformed")


class LLMError(Exception):
    """The language model gave no usable reply; `kind` is one of FAILURES."""

    def __init__(self, kind: str, message: str) -> None:
        if kind not in FAILURES:
            raise ValueError(f"kind must be one of {', '.join(FAILURES)}, got {kind!r}")
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class LLMConfig:
    """Where the model is and how to ask it. `url` is the server's base, e.g. http://127.0.0.1:8080/v1."""

    url: str
    model: str = ""
    api_key: str = field(default="", repr=False)
    timeout: float = 30.0  # seconds for the whole reply, streamed or not
    max_tokens: int = 400
    temperature: float = 0.0

    def __post_init__(self) -> None:
        if not self.url.lower().startswith(("http://", "https://")):
            raise ValueError(f"llm_url must be an http(s) URL such as http://127.0.0.1:8080/v1, got {self.url!r}")
        if not 0 < self.timeout <= 600:
            raise ValueError(f"llm_timeout must be in (0, 600] seconds, got {self.timeout!r}")
        if not 1 <= self.max_tokens <= 8192:
            raise ValueError(f"llm_max_tokens must be in [1, 8192], got {self.max_tokens!r}")
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"llm_temperature must be in [0, 2], got {self.temperature!r}")

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        if base.endswith("/chat/completions"):
            return base
        return base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")


class ChatModel(Protocol):
    """What the written answer needs of a language model (a fake in tests, `ChatClient` for real)."""

    name: str

    def stream(self, messages: list[dict[str, str]], stop: Sequence[str] = ()) -> Iterator[str]:
        """The reply's text in pieces as they come, ending before any of `stop`; raises LLMError."""
        ...


class ChatClient:
    """Chat completions over HTTP, streamed (server-sent events) with one deadline for the whole reply."""

    def __init__(self, config: LLMConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.name = config.model or "default model"
        headers = {"Accept": "text/event-stream"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        # Connect quickly or not at all; the deadline below bounds the rest.
        timeout = httpx.Timeout(config.timeout, connect=min(config.timeout, 5.0))
        self._http = httpx.Client(headers=headers, timeout=timeout, transport=transport, follow_redirects=False)

    def __repr__(self) -> str:
        return f"ChatClient(url={self.config.url!r}, model={self.config.model!r})"

    def close(self) -> None:
        self._http.close()

    def _body(self, messages: list[dict[str, str]], stream: bool, stop: Sequence[str]) -> dict:
        body: dict = {"messages": messages, "max_tokens": self.config.max_tokens,
                      "temperature": self.config.temperature, "stream": stream}
        if stop:
            body["stop"] = list(stop)[:4]  # OpenAI's API takes at most four
        if self.config.model:
            body["model"] = self.config.model
        return body

    def complete(self, messages: list[dict[str, str]], stop: Sequence[str] = ()) -> str:
        """The whole reply at once (no streaming)."""
        return "".join(self.stream(messages, stop, stream=False))

    def stream(self, messages: list[dict[str, str]], stop: Sequence[str] = (), stream: bool = True) -> Iterator[str]:
        deadline = time.monotonic() + self.config.timeout
        produced = False
        try:
            with self._http.stream("POST", self.config.endpoint, json=self._body(messages, stream, stop)) as response:
                _check_status(response)
                kind = response.headers.get("content-type", "")
                if "text/event-stream" not in kind:  # a server that ignores "stream": one JSON body
                    response.read()
                    text = _message_text(_json(response.text))
                    if text:
                        produced = True
                        yield text
                else:
                    for piece in _events(response.iter_lines(), deadline, self.config.timeout):
                        produced = produced or bool(piece)
                        if piece:
                            yield piece
        except httpx.TimeoutException as exc:
            raise LLMError("timeout", f"no reply within {self.config.timeout:g} s") from exc
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise LLMError("unreachable", f"cannot reach {self.config.url} ({type(exc).__name__})") from exc
        if not produced:
            raise LLMError("empty", "the model's reply was empty")


def _check_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        if response.status_code >= 300:
            raise LLMError("refused", f"the server redirected ({response.status_code}); set llm_url to the final address")
        return
    code = response.status_code
    if code == 429:
        raise LLMError("rate-limited", "the server is rate-limiting requests (429)")
    if code >= 500:
        raise LLMError("server-error", f"the server failed ({code})")
    raise LLMError("refused", f"the server refused the request ({code}{_reason(response)})")


def _reason(response: httpx.Response) -> str:
    """A short reason from an error body, if it has one (never the request, which holds the key's header)."""
    try:
        response.read()
        error = json.loads(response.text).get("error")
        message = error.get("message") if isinstance(error, dict) else error
        return f": {str(message)[:160]}" if message else ""
    except (ValueError, AttributeError, httpx.HTTPError):
        return ""


def _json(text: str) -> dict:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise LLMError("malformed", f"the reply is not JSON: {text[:80]!r}") from exc
    if not isinstance(data, dict):
        raise LLMError("malformed", f"the reply is not a JSON object: {text[:80]!r}")
    return data


def _message_text(data: dict) -> str:
    try:
        choice = data["choices"][0]
        part = choice.get("delta") or choice.get("message") or {}
        content = part.get("content")
        if content is None and "text" in choice:
            content = choice["text"]
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise LLMError("malformed", f"the reply has no choices[0] message: {json.dumps(data)[:120]}") from exc
    if content is not None and not isinstance(content, str):
        raise LLMError("malformed", f"the reply's content is not text: {content!r:.80}")
    return content or ""


def _events(lines: Iterator[str], deadline: float, timeout: float) -> Iterator[str]:
    """The text pieces of a server-sent event stream, until `data: [DONE]` or the end."""
    for line in lines:
        if time.monotonic() > deadline:
            raise LLMError("timeout", f"the reply took longer than {timeout:g} s")
        if not line.startswith("data:"):
            continue  # comments, event names, blank separators
        payload = line[5:].strip()
        if payload == "[DONE]":
            return
        data = _json(payload)
        if "error" in data:
            raise LLMError("server-error", f"the server reported an error mid-reply: {str(data['error'])[:120]}")
        if not data.get("choices"):
            continue  # usage-only chunks
        yield _message_text(data)
