"""The interpreter is released while a call waits on the network, and the
native side keeps no Python object alive after a call."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
import weakref

import switchboard as litellm
from conftest import USER, on_mock


def test_other_threads_run_while_a_call_waits(mock, bases):
    mock.on("gpt-4o-mini", delay=1.0)
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    t = threading.Thread(target=count)
    t.start()
    try:
        start = time.monotonic()
        litellm.completion(model="openai/gpt-4o-mini", messages=USER, **on_mock("openai", bases))
        end = time.monotonic()
    finally:
        stop.set()
        t.join()
    during = [x for x in ticks if start < x < end]
    # Held for the whole wait, the other thread would not have ticked at all.
    assert len(during) >= 20, len(during)


def test_an_event_loop_keeps_running_while_a_call_waits(mock, bases):
    mock.on("gpt-4o-mini", delay=0.5)

    async def run():
        ticks = 0

        async def tick():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.ensure_future(tick())
        await litellm.acompletion(model="openai/gpt-4o-mini", messages=USER, **on_mock("openai", bases))
        ticker.cancel()
        return ticks

    assert asyncio.run(run()) >= 20


class Text(str):
    """A str that can be weakly referenced (plain str cannot)."""


class Payload(dict):
    pass


def test_no_python_object_outlives_a_call(mock, bases):
    content = Text("hi there")
    message = Payload(role="user", content=content)
    messages = [message]
    refs = [weakref.ref(message), weakref.ref(content)]
    r = litellm.completion(model="openai/gpt-4o-mini", messages=messages, **on_mock("openai", bases))
    stream = litellm.completion(model="openai/gpt-4o-mini", messages=messages, stream=True,
                                **on_mock("openai", bases))
    list(stream)

    async def run():
        return await litellm.acompletion(model="openai/gpt-4o-mini", messages=messages, **on_mock("openai", bases))

    asyncio.run(run())
    del message, content, messages, stream
    gc.collect()
    assert all(ref() is None for ref in refs)
    assert r.choices[0].message.content


def test_an_async_call_releases_its_future_and_loop(mock, bases):
    loops = []

    async def run():
        loop = asyncio.get_running_loop()
        loops.append(weakref.ref(loop))
        await litellm.acompletion(model="openai/gpt-4o-mini", messages=USER, **on_mock("openai", bases))

    asyncio.run(run())
    gc.collect()
    assert loops[0]() is None


def test_a_forked_child_calls_with_its_own_runtime_and_connections(mock, bases):
    # The parent has a runtime and a pooled connection before the fork.
    assert litellm.completion(model="openai/gpt-4o-mini", messages=USER, **on_mock("openai", bases)).choices
    pid = os.fork()
    if pid == 0:  # the child: both kinds of call, then out without pytest's cleanup
        code = 3
        try:
            r = litellm.completion(model="openai/gpt-4o-mini", messages=USER, timeout=10, **on_mock("openai", bases))

            async def run():
                return await litellm.acompletion(model="openai/gpt-4o-mini", messages=USER, timeout=10,
                                                 **on_mock("openai", bases))

            a = asyncio.run(run())
            code = 0 if r.choices[0].message.content == a.choices[0].message.content == "Hello from gpt-4o-mini" else 1
        except BaseException:
            code = 2
        os._exit(code)
    for _ in range(5):  # the parent's own connection keeps working meanwhile
        assert litellm.completion(model="openai/gpt-4o-mini", messages=USER, **on_mock("openai", bases)).choices
    deadline = time.monotonic() + 30
    while True:  # a child whose calls hang is killed, and the test fails
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError("the forked child's calls hung")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0
    assert litellm.completion(model="openai/gpt-4o-mini", messages=USER, **on_mock("openai", bases)).choices


def test_ctrl_c_ends_a_blocking_call(mock, bases):
    import signal

    import pytest

    mock.on("gpt-4o-mini", delay=5)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        litellm.completion(model="openai/gpt-4o-mini", messages=USER, **on_mock("openai", bases))
    assert time.monotonic() - start < 2
    timer.join()
