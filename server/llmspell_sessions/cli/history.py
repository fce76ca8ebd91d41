"""History subcommands of the command line: events, checkpoints, snapshots, replay, fork, rewind.

Like sessions.py: parse arguments, make client calls, print tables (or JSON with --json).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..model import Event, ReplayFrame, ReplayMode, ReplayStart, ReplayStatus
from .common import add_common, client, command, json_object, list_command
from .output import plain
from .sessions import ETAG, SID, session_view

EVENT_COLUMNS = ("seq", "type", "time", "actor", "payload")
CHECKPOINT_COLUMNS = ("checkpoint_id", "seq", "label", "create_time")


def add_replay_commands(commands: Any) -> None:
    """Adds events, checkpoint, snapshot, replay, fork and rewind to the command parser."""
    _events(_group(commands, "events", "list, follow and append a session's events"))
    checkpoint = _group(commands, "checkpoint", "create and list checkpoints")
    command(
        checkpoint,
        "create",
        "create a checkpoint",
        lambda c, a: c.create_checkpoint(a.session_id, a.label),
        SID,
        (("--label",), {"default": ""}),
    )
    list_command(
        checkpoint,
        "list",
        "checkpoints",
        lambda c, a, token: c.list_checkpoints(a.session_id, a.page_size, token),
        SID,
        columns=CHECKPOINT_COLUMNS,
    )
    command(
        commands,
        "snapshot",
        "the session as it was after an event or at a checkpoint",
        lambda c, a: _snapshot_view(c.get_snapshot(a.session_id, a.at_seq, a.checkpoint or "")),
        SID,
        _AT_SEQ,
        _CHECKPOINT,
    )
    command(
        commands,
        "fork",
        "a new session from a past moment",
        lambda c, a: session_view(c.fork_session(a.session_id, a.at_seq, a.checkpoint or "", a.name)),
        SID,
        _AT_SEQ,
        _CHECKPOINT,
        (("--name",), {"default": ""}),
    )
    command(
        commands,
        "rewind",
        "restore state and artifacts as they were",
        lambda c, a: session_view(c.rewind_session(a.session_id, a.to_seq, a.checkpoint or "", etag=a.etag)),
        SID,
        (("--to-seq",), {"type": int}),
        _CHECKPOINT,
        ETAG,
    )
    replay = commands.add_parser("replay", help="replay a session's events as a timeline")
    add_common(replay)
    for flags, options in _REPLAY_ARGUMENTS:
        replay.add_argument(*flags, **options)
    replay.set_defaults(run=_run_replay)


_AT_SEQ = (("--at-seq",), {"type": int, "help": "event seq (default: the latest)"})
_CHECKPOINT = (("--checkpoint",), {"help": "checkpoint id"})
_TYPES = (("--type",), {"action": "append", "default": [], "help": "type prefix; repeat for several"})
_REPLAY_ARGUMENTS = (
    SID,
    (("--from-seq",), {"type": int}),
    _CHECKPOINT,
    (("--to-seq",), {"type": int, "default": 0}),
    (("--mode",), {"choices": ["timed", "fast", "step"], "default": "fast"}),
    (("--speed",), {"type": float, "default": 0.0, "help": "0.1-10 (timed mode)"}),
    _TYPES,
    (("--break-seq",), {"type": int, "action": "append", "default": []}),
    (("--break-type",), {"action": "append", "default": []}),
)


def _group(commands: Any, name: str, help_text: str) -> Any:
    return commands.add_parser(name, help=help_text).add_subparsers(title=f"{name} commands", required=True)


def _events(group: Any) -> None:
    list_command(
        group,
        "list",
        "events",
        lambda c, a, token: c.list_events(a.session_id, a.after_seq, a.type, a.page_size, token),
        SID,
        (("--after-seq",), {"type": int, "default": 0, "help": "events after this seq"}),
        _TYPES,
        columns=EVENT_COLUMNS,
    )
    command(
        group,
        "append",
        "append one client event",
        lambda c, a: c.append_events(a.session_id, [_new_event(a)], a.expected_last_seq),
        SID,
        (("type",), {"help": "event type (not session./state./artifact./checkpoint.)"}),
        (("--payload",), {"type": json_object, "default": None, "help": "a JSON object"}),
        (("--expected-last-seq",), {"type": int}),
        (("--correlation-id",), {"default": ""}),
        (("--causation-id",), {"default": ""}),
        columns=EVENT_COLUMNS,
    )
    tail = group.add_parser("tail", help="print events as they happen (history first)")
    add_common(tail)
    tail.add_argument("session_id")
    tail.add_argument("--after-seq", type=int, default=0)
    tail.add_argument(*_TYPES[0], **_TYPES[1])
    tail.set_defaults(run=_run_tail)


def _new_event(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "type": args.type,
        "payload": args.payload or {},
        "correlation_id": args.correlation_id,
        "causation_id": args.causation_id,
    }


def _snapshot_view(snapshot: Any) -> dict[str, Any]:
    session = plain(snapshot.session)
    return {
        "seq": snapshot.seq,
        "session_id": session["session_id"],
        "name": session["name"],
        "state": session["state"],
        "values": snapshot.state,
        "artifacts": [f"{a.name} v{a.version} ({a.size} B)" for a in snapshot.artifacts],
    }


def _run_tail(args: argparse.Namespace) -> int:
    with client(args) as connection:
        stream = connection.subscribe_events(args.session_id, args.after_seq, args.type)
        try:
            for event in stream:
                print(json.dumps(plain(event)) if args.json else _event_line(event), flush=True)
        except KeyboardInterrupt:
            stream.cancel()
    return 0


def _event_line(event: Event) -> str:
    payload = json.dumps(event.payload, separators=(",", ":"))
    return f"{event.seq:>6}  {event.time.isoformat(timespec='milliseconds')}  {event.type}  {payload}"


def _run_replay(args: argparse.Namespace) -> int:
    start = ReplayStart(
        args.session_id,
        args.from_seq,
        args.checkpoint or "",
        args.to_seq,
        ReplayMode[args.mode.upper()],
        args.speed,
        args.break_seq,
        args.break_type,
        args.type,
    )
    with client(args) as connection:
        replay = connection.replay_session(start)
        if start.mode == ReplayMode.STEP:  # a step replay sends nothing until the first step
            _prompt(replay)
        for frame in replay:
            print(json.dumps(plain(frame)) if args.json else _timeline_line(frame), flush=True)
            if frame.status in (ReplayStatus.PAUSED, ReplayStatus.AT_BREAKPOINT):
                _prompt(replay)
    return 0


def _prompt(replay: Any) -> None:
    """Waits for the user: Enter steps, 'c' resumes, 'q' (or end of input) stops."""
    print("[Enter] step  [c] continue  [q] quit", file=sys.stderr, end=" ", flush=True)
    answer = sys.stdin.readline()
    if not answer or answer.strip().lower() == "q":
        replay.stop()
    elif answer.strip().lower() == "c":
        replay.resume()
    else:
        replay.step()


def _timeline_line(frame: ReplayFrame) -> str:
    share = frame.index / frame.total if frame.total else 1.0
    bar = "#" * round(share * 20)
    progress = f"[{bar:<20}] {frame.index:>{len(str(frame.total))}}/{frame.total}"
    if frame.event is None:
        return f"{progress}  {frame.status.name}"
    event = frame.event
    keys = f"  keys: {','.join(frame.changed_keys)}" if frame.changed_keys else ""
    mark = "  <- breakpoint" if frame.status == ReplayStatus.AT_BREAKPOINT else ""
    return f"{progress}  #{event.seq}  {event.time.isoformat(timespec='milliseconds')}  {event.type}{keys}{mark}"
