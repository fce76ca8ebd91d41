"""Drives a Replayer on asyncio: reads controls while it sends frames, and does the waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from ...model import ReplayControl, ReplayFrame
from .replayer import Replayer

_STOP = ReplayControl("stop")


async def _next_control(controls: AsyncIterator[ReplayControl]) -> ReplayControl | None:
    try:
        return await anext(controls)
    except StopAsyncIteration:
        return None


async def drive_replay(
    replayer: Replayer,
    controls: AsyncIterator[ReplayControl],
    guard: Callable[[], None] = lambda: None,
    idle_timeout: float = 600.0,
) -> AsyncIterator[ReplayFrame]:
    """Frames of the replay until its final one; controls are applied as soon as they arrive.

    When the controls end (the client half-closed) a running replay goes on to its end, and one
    that waits for a control is stopped, since no control can come any more; so is one that waited
    idle_timeout seconds for a control. ``guard`` (the caller's access) is checked before each frame.
    """
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[ReplayControl | None] | None = asyncio.ensure_future(_next_control(controls))
    try:
        while not replayer.finished:
            if pending is not None and pending.done():
                control = pending.result()
                pending = None if control is None else asyncio.ensure_future(_next_control(controls))
                if control is not None:
                    replayer.apply(control, loop.time())
                continue
            step = replayer.next(loop.time())
            if isinstance(step, ReplayFrame):
                if step.event is not None:
                    guard()
                yield step
                await asyncio.sleep(0)  # let a control that arrived meanwhile in before the next frame
            elif pending is None:
                if step is None:
                    replayer.apply(_STOP, loop.time())
                else:
                    await asyncio.sleep(step)
            else:
                done, _ = await asyncio.wait({pending}, timeout=idle_timeout if step is None else step)
                if step is None and not done:
                    replayer.apply(_STOP, loop.time())  # nobody drove it for too long
    finally:
        if pending is not None:
            pending.cancel()
