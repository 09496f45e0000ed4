"""The chat-completions client against a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import socket
import time

import pytest

from qa.llm import ChatClient, LLMConfig, LLMError

KEY = "sk-test-do-not-show-4242"
MESSAGES = [{"role": "user", "content": "Who cast the vote?"}]


def client(url: str, timeout: float = 2.0, **kwargs: object) -> ChatClient:
    return ChatClient(LLMConfig(url, model="fake", api_key=KEY, timeout=timeout, **kwargs))


def test_streams_the_reply_and_sends_the_key_only_as_a_bearer_token(chat_server) -> None:
    chat_server.reply = "Mike Pence cast the tie-breaking vote [1]."
    pieces = list(client(chat_server.url).stream(MESSAGES))
    assert len(pieces) > 3 and "".join(pieces) == chat_server.reply
    path, headers, body = chat_server.requests[-1]
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert body["stream"] is True and body["model"] == "fake" and body["messages"] == MESSAGES
    assert body["temperature"] == 0.0 and body["max_tokens"] == 400


def test_a_server_that_ignores_streaming_is_read_whole(chat_server) -> None:
    chat_server.reply = "Pence voted [1]."
    assert client(chat_server.url).complete(MESSAGES) == "Pence voted [1]."
    assert chat_server.requests[-1][2]["stream"] is False


@pytest.mark.parametrize(("mode", "kind"), [("429", "rate-limited"), ("500", "server-error"),
                                            ("malformed", "malformed"), ("empty", "empty"), ("close", "unreachable")])
def test_each_failure_is_one_kind_of_error_and_never_shows_the_key(chat_server, mode: str, kind: str) -> None:
    chat_server.mode = mode
    llm = client(chat_server.url)
    with pytest.raises(LLMError) as caught:
        list(llm.stream(MESSAGES))
    assert caught.value.kind == kind
    assert KEY not in str(caught.value) and KEY not in repr(llm) and KEY not in repr(llm.config)


def test_a_silent_server_times_out(chat_server) -> None:
    chat_server.mode, chat_server.delay = "slow", 3.0
    started = time.monotonic()
    with pytest.raises(LLMError) as caught:
        list(client(chat_server.url, timeout=0.5).stream(MESSAGES))
    assert caught.value.kind == "timeout" and time.monotonic() - started < 2.5


def test_a_reply_that_drips_past_the_deadline_is_cut_off(chat_server) -> None:
    chat_server.mode, chat_server.delay = "drip", 0.3
    chat_server.reply = " ".join(["word"] * 40)
    started = time.monotonic()
    with pytest.raises(LLMError) as caught:
        list(client(chat_server.url, timeout=1.0).stream(MESSAGES))
    assert caught.value.kind == "timeout" and time.monotonic() - started < 3.0


def test_an_unreachable_endpoint() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(LLMError) as caught:
        list(client(f"http://127.0.0.1:{port}/v1").stream(MESSAGES))
    assert caught.value.kind == "unreachable"


@pytest.mark.parametrize(("url", "endpoint"), [
    ("http://h:8080/v1", "http://h:8080/v1/chat/completions"), ("http://h:8080", "http://h:8080/v1/chat/completions"),
    ("https://api.example.com/v1/", "https://api.example.com/v1/chat/completions"),
    ("http://h/v1/chat/completions", "http://h/v1/chat/completions")])
def test_endpoint_from_base_url(url: str, endpoint: str) -> None:
    assert LLMConfig(url).endpoint == endpoint


@pytest.mark.parametrize(("kwargs", "message"), [({"url": "ftp://x"}, "ftp://x"), ({"url": "http://x", "timeout": 0}, "0"),
                                                 ({"url": "http://x", "temperature": 3.0}, "3.0")])
def test_config_refuses_bad_values_naming_them(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LLMConfig(**kwargs)
