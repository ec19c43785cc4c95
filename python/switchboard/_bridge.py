"""How a native call reaches asyncio: the native module runs the call on
its Tokio runtime and resolves an asyncio future through the future's loop
(``call_soon_threadsafe``); cancelling the awaiting task stops the call."""

from __future__ import annotations

import asyncio
from typing import Any, Callable


def resolve(future: "asyncio.Future[Any]", ok: bool, value: Any) -> None:
    """Runs on the future's loop: its result, or its exception, unless the
    awaiting task gave up on it meanwhile."""
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


async def run(start: Callable[..., Any], *args: Any) -> Any:
    """Awaits ``start(*args, future)``, a native call that resolves ``future``."""
    future = asyncio.get_running_loop().create_future()
    task = start(*args, future)
    try:
        return await future
    finally:
        # Finished calls ignore it; a cancelled await stops the call.
        task.cancel()
