"""Drives a Replayer on asyncio: reads controls while it sends frames, and does the waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from ...model import ReplayControl, ReplayFrame
from .replayer import Replayer

_STOP = ReplayControl("stop")
# Frames sent back to back (FAST, or TIMED at a high speed) re-check the caller's access at most this
# often: a revoked grant or a deleted session ends such a replay within 20 ms, and the check no longer
# costs every frame a record read (a fifth of a FAST frame's server time). A frame that follows a wait
# (a step, a resume, a timed gap) is always checked first.
GUARD_EVERY_SECONDS = 0.02


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
    idle_timeout seconds for a control. ``guard`` (the caller's access) is checked before a frame
    that follows a wait, and every GUARD_EVERY_SECONDS while frames go out back to back.
    """
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[ReplayControl | None] | None = asyncio.ensure_future(_next_control(controls))
    checked = float("-inf")  # when guard last passed, on a run of frames sent back to back
    try:
        while not replayer.finished:
            if pending is not None and pending.done():
                control = pending.result()
                pending = None if control is None else asyncio.ensure_future(_next_control(controls))
                if control is not None:
                    replayer.apply(control, loop.time())
                continue
            now = loop.time()
            step = replayer.next(now)
            if isinstance(step, ReplayFrame):
                if step.event is not None and now - checked >= GUARD_EVERY_SECONDS:
                    guard()
                    checked = now
                yield step
                # A control that arrived meanwhile gets in before the next frame (an in-process
                # consumer may never suspend between frames).
                await asyncio.sleep(0)
                continue
            checked = float("-inf")  # a wait follows: the next frame is checked first
            if pending is None:
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
