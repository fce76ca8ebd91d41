"""History: event appends, subscription fan-out, GetSnapshot, FAST replay and hook cost, each beside its ceiling.

1. **append** (per event; ops/s = events/s): embedded ``append_events`` on RocksDB with 1 and 100
   events per call, interleaved with a raw rocksdict put of one event-sized value and a WriteBatch of
   100 of them; over gRPC, ``AppendEvents`` with 1 and 100 events interleaved with the bare echo
   (``bench/echo_server.py``) of a payload as big as the larger of request and response. Auto
   checkpoints stay at their default (every 1,000 events), so their cost is in the figure.
2. **fan-out**: 1, 8 and 32 ``SubscribeEvents`` streams on one session, held by a subscriber
   subprocess (grpc.aio, ``AsyncSessionClient``); a writer (this process, blocking client) appends one
   event at a time carrying its ``perf_counter_ns`` (CLOCK_MONOTONIC, shared by every process of the
   host), paced so the subscribers drain between writes. Every delivery is one sample, from the
   send and from the acknowledgement (AppendEvents returned) to the subscriber holding the decoded
   Event. Interleaved, in rounds, with the bare fan-out of ``bench/stream_source_server.py`` (Publish
   puts the bytes on every open Subscribe stream's queue) carrying messages of the Event's size.
3. **snapshot**: embedded ``get_snapshot`` on RocksDB at seq 100,000 (quick: 20,000) of a session of
   client events with a state.set every 100 events, with auto checkpoints every 1,000 events (at the
   checkpoint, and one event before it: the nearest snapshot is then 999 events back) and without
   (every event replayed); the ceiling reads the same bytes raw from the same store (the snapshot
   body by a reverse seek, then the events after it) without decoding them.
4. **replay FAST**: ``ReplaySession`` in FAST mode of a 20,000-event session, through
   ``SessionClient`` (frames decoded to model objects) and as raw bytes on the same channel (no
   decoding: the server's rate), interleaved with a bare grpc.aio stream of as many messages of the
   frame's size (``/bench.Stream/Source``). Per event; ops/s = events/s.
5. **hooks**: embedded ``set_session_state`` on RocksDB with a no-op hook (``before``/``after``
   doing nothing) and without, interleaved in rounds whose order alternates; the overhead is the
   difference of the p50s, one value per round (the row shows their median).

Run the subscriber half on its own with ``python -m bench.scenarios.replay subscribe ...`` (what the
scenario starts; commands on stdin).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import rocksdict

from ..ceilings import RawRocks
from ..echo_server import METHOD as ECHO
from ..framework import LATENCY, VALUE, Contender, Context, Figure, Summary, Target
from ..processes import SESSION_SERVER_ENV, UNLIMITED_CONFIG, ServerProcess, running, session_server_args
from ..stream_source_server import PUBLISH, SOURCE, SUBSCRIBE, source_request
from .grpc_unary import cpu_seconds

if TYPE_CHECKING:
    from llmspell_sessions import SessionManager

NAME = "replay"
ORDER = 35
ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "bench"
BATCH = 100
REPLAY_EVENTS = 20_000
APPEND_LIMIT = 1000  # events per AppendEvents call (the engine's MAX_EVENTS_PER_APPEND)
FANOUT = (1, 8, 32)
STATE_EVERY = 100
WORKING_SET = 100
REPLAY_METHOD = "/llmspell.sessions.v1.ReplayService/ReplaySession"
# An agent step: a type, a small structured payload (~120 bytes encoded).
EVENT: dict[str, Any] = {
    "type": "agent.tool_call",
    "payload": {"tool": "search", "args": {"q": "llm session stores", "k": 5}, "ok": True, "ms": 12.5},
    "correlation_id": "run-1",
}


class NoopHook:
    """A hook that observes every operation and does nothing."""

    def before(self, op: Any) -> None:
        return None

    def after(self, op: Any, event: Any) -> None:
        return None


# -- helpers -------------------------------------------------------------------------------------


@contextmanager
def manager(ctx: Context, label: str, **overrides: Any) -> Iterator[SessionManager]:
    """A SessionManager on a fresh RocksDB store, sweeper off, limits out of the way."""
    from llmspell_sessions import SessionManager

    path = ctx.tempdir(f"replay-{label}") / "store"
    m = SessionManager(
        storage_backend="rocksdb", storage_path=str(path), start_sweeper=False, **{**UNLIMITED_CONFIG, **overrides}
    )
    try:
        yield m
    finally:
        m.close()


def raw_families(m: SessionManager) -> Any:
    """The rocksdict column families under the engine's RocksDB storage (for ceilings on the same bytes)."""
    return m._storage._families  # type: ignore[attr-defined]


def state_setter(m: SessionManager, working: list[str]) -> Callable[[], object]:
    """set_session_state of one small key, cycling over the working set."""
    ids, steps = itertools.cycle(working), itertools.count()
    return lambda: m.set_session_state(next(ids), {"step": next(steps)})


def per_event(samples: list[float], events: int) -> Summary:
    return Summary.of([s / events for s in samples])


def latency(
    ctx: Context,
    name: str,
    variant: str,
    summary: Summary,
    ceiling_name: str,
    ceiling: Summary | None,
    target: Target | None = None,
    info: dict[str, Any] | None = None,
    interleaved: bool = True,
) -> Figure:
    return ctx.record(
        Figure(
            NAME,
            name,
            variant,
            LATENCY,
            summary,
            ceiling_name=ceiling_name,
            ceiling=ceiling,
            target=target,
            interleaved=interleaved,
            info=info or {},
        )
    )


def fill_log(m: SessionManager, sid: str, last_seq: int) -> None:
    """Appends client events (and a state.set every STATE_EVERY events) until the log ends at last_seq."""
    last = m.get_session(sid).last_event_seq
    for step in itertools.count():
        room = last_seq - last
        if room <= 0:
            break
        if room > STATE_EVERY:
            m.append_events(sid, [EVENT] * (STATE_EVERY - 1))
            m.set_session_state(sid, {f"key{step % 50}": {"step": step, "note": "x" * 40}})
        else:
            m.append_events(sid, [EVENT] * room)
        last = m.get_session(sid).last_event_seq
    assert last == last_seq, (last, last_seq)


# -- 1. appends, embedded ------------------------------------------------------------------------


def measure_embedded_appends(ctx: Context, rocks: RawRocks) -> None:
    with manager(ctx, "append") as m:
        sid = m.create_session(name="bench-append")
        single, batch = [EVENT], [EVENT] * BATCH
        m.append_events(sid, single)
        family = raw_families(m)["events"]  # the engine's own bytes, to size the raw value alike
        encoded = max(len(v) for _, v in family.items())
        rocks.value = os.urandom(encoded)
        writes = itertools.count(10**9)

        def put_batch() -> None:
            native = rocksdict.WriteBatch(raw_mode=True)
            for _ in range(BATCH):
                native.put(rocks.key(next(writes)), rocks.value)
            rocks.db.write(native)

        samples = ctx.count(20_000, 3_000)
        found = ctx.interleave(
            [Contender("append x1", lambda: m.append_events(sid, single)), Contender("rocksdict put", rocks.put)],
            samples,
            warmup=200,
            label="append_events x1",
        )
        info = {"event_bytes": encoded, "auto_checkpoint_every": m.config.auto_checkpoint_every}
        latency(
            ctx,
            "append_events x1 (per event)",
            "rocksdb",
            found["append x1"],
            "rocksdict put",
            found["rocksdict put"],
            info=info,
        )
        count = ctx.count(2_000, 300)
        raw = ctx.interleave_raw(
            [Contender("append x100", lambda: m.append_events(sid, batch)), Contender("writebatch 100", put_batch)],
            count,
            warmup=20,
            label="append_events x100",
        )
        latency(
            ctx,
            "append_events x100 (per event)",
            "rocksdb",
            per_event(raw["append x100"], BATCH),
            "rocksdict WriteBatch 100",
            per_event(raw["writebatch 100"], BATCH),
            info={
                **info,
                "events_per_call": BATCH,
                "call_p50_ns": Summary.of(raw["append x100"]).p50,
                "events_in_log": m.get_session(sid).last_event_seq,
            },
        )


# -- 5. hooks --------------------------------------------------------------------------------------


def measure_hooks(ctx: Context) -> None:
    with manager(ctx, "plain") as plain, manager(ctx, "hooked", hooks=[NoopHook()]) as hooked:
        contenders = []
        for label, m in (("no hooks", plain), ("no-op hook", hooked)):
            working = [m.create_session(name="bench") for _ in range(WORKING_SET)]
            for sid in working:
                m.set_session_state(sid, {"step": 0})
            contenders.append(Contender(label, state_setter(m, working)))
        rounds, samples = 10, ctx.count(40_000, 6_000)
        per_round = samples // rounds
        collected: dict[str, list[float]] = {c.name: [] for c in contenders}
        differences = []
        for number in range(rounds):
            order = contenders if number % 2 == 0 else contenders[::-1]
            raw = ctx.interleave_raw(
                order, per_round, rounds=1, warmup=200 if number == 0 else 0, label=f"hooks round {number + 1}/{rounds}"
            )
            for name, values in raw.items():
                collected[name] += values
            differences.append((Summary.of(raw["no-op hook"]).p50 - Summary.of(raw["no hooks"]).p50) / 1000)
        with_hook, without = Summary.of(collected["no-op hook"]), Summary.of(collected["no hooks"])
        latency(ctx, "set_session_state + no-op hook", "rocksdb", with_hook, "no hooks", without)
        ctx.record(
            Figure(
                NAME,
                "no-op hook overhead",
                "rocksdb",
                VALUE,
                Summary.of(differences),
                target=Target.at_most(11, "<= 11 µs p50"),
                interleaved=True,
                unit=" µs",
                lower_is_better=True,
                info={
                    "what": "p50(with a no-op hook) - p50(without), per round; the row is their median",
                    "per_round_us": [round(d, 2) for d in differences],
                    "overall_p50_difference_us": (with_hook.p50 - without.p50) / 1000,
                    "samples_each": len(collected["no hooks"]),
                },
            )
        )


# -- 3. snapshots ----------------------------------------------------------------------------------


def raw_snapshot_read(m: SessionManager, skey: bytes, seq: int) -> int:
    """Reads what GetSnapshot at seq reads (nearest snapshot body <= seq, then the events after it),
    straight from the engine's RocksDB column families, decoding nothing. Returns the events read."""
    from llmspell_sessions.storage import keys

    families = raw_families(m)  # the same store: the ceiling reads the very same bytes
    prefix = skey + b"\x00"
    options = rocksdict.ReadOptions()
    options.set_iterate_lower_bound(prefix)
    options.set_iterate_upper_bound(prefix + b"\xff" * 9)
    bodies = families["checkpoints"].iter(options)
    bodies.seek_for_prev(prefix + seq.to_bytes(keys.SEQ_BYTES, "big") + b"\xff")
    base = 0
    if bodies.valid():
        bodies.value()
        base = int.from_bytes(bodies.key()[len(prefix) : len(prefix) + keys.SEQ_BYTES], "big")
    options = rocksdict.ReadOptions()
    options.set_iterate_lower_bound(keys.event_key(skey, base + 1))
    options.set_iterate_upper_bound(keys.event_key(skey, seq + 1))
    events = families["events"].iter(options)
    events.seek(keys.event_key(skey, base + 1))
    count = 0
    while events.valid():
        events.value()
        count += 1
        events.next()
    return count


def measure_snapshots(ctx: Context) -> None:
    from llmspell_sessions.storage import keys

    target_seq = ctx.count(100_000, 20_000)
    with (
        manager(ctx, "snap-ckpt", auto_checkpoint_every=1000) as with_ckpt,
        manager(ctx, "snap-none", auto_checkpoint_every=0) as without,
    ):
        sids = {}
        for label, m in (("ckpt", with_ckpt), ("none", without)):
            ctx.progress.step(f"snapshot: filling a log of {target_seq:,} events ({label})")
            sid = sids[label] = m.create_session(name="bench-snapshot")
            fill_log(m, sid, target_seq)
        skeys = {label: keys.session_key("default", sid) for label, sid in sids.items()}
        cases = [
            ("at a checkpoint", with_ckpt, "ckpt", target_seq),
            ("999 events past a checkpoint", with_ckpt, "ckpt", target_seq - 1),
        ]
        contenders = []
        replayed = {}
        for label, m, which, seq in cases:
            sid, skey = sids[which], skeys[which]
            replayed[label] = raw_snapshot_read(m, skey, seq)
            contenders += [
                Contender(label, functools.partial(m.get_snapshot, sid, at_seq=seq)),
                Contender(f"raw {label}", functools.partial(raw_snapshot_read, m, skey, seq)),
            ]
        found = ctx.interleave(contenders, ctx.count(2_000, 300), warmup=20, label="get_snapshot with checkpoints")
        state_keys = len(with_ckpt.get_snapshot(sids["ckpt"], at_seq=target_seq).state)
        for label, _, _, seq in cases:
            latency(
                ctx,
                f"get_snapshot @{seq:,}",
                f"ckpt 1000, {label}",
                found[label],
                "raw read same bytes",
                found[f"raw {label}"],
                Target.at_most_us(5_000),
                {"events_replayed": replayed[label], "state_keys": state_keys, "log_length": target_seq},
            )
        sid, skey = sids["none"], skeys["none"]
        replayed_all = raw_snapshot_read(without, skey, target_seq)
        found = ctx.interleave(
            [
                Contender("no checkpoints", lambda: without.get_snapshot(sid, at_seq=target_seq)),
                Contender("raw", lambda: raw_snapshot_read(without, skey, target_seq)),
            ],
            ctx.count(10, 4),
            rounds=ctx.count(10, 4),
            warmup=1,
            label="get_snapshot without checkpoints",
        )
        latency(
            ctx,
            f"get_snapshot @{target_seq:,}",
            "no checkpoints",
            found["no checkpoints"],
            "raw read same bytes",
            found["raw"],
            None,
            {"events_replayed": replayed_all, "state_keys": state_keys, "log_length": target_seq},
        )


# -- servers ---------------------------------------------------------------------------------------


@contextmanager
def servers(ctx: Context) -> Iterator[tuple[ServerProcess, ServerProcess, ServerProcess]]:
    """The real server (RocksDB, default auto checkpoints), the echo server and the stream source."""
    cwd = ctx.tempdir("replay-grpc")
    with ExitStack() as stack:
        real = stack.enter_context(running(session_server_args(cwd / "store"), SESSION_SERVER_ENV, cwd))
        echo = stack.enter_context(running([str(BENCH_DIR / "echo_server.py")], {}, cwd))
        stream = stack.enter_context(running([str(BENCH_DIR / "stream_source_server.py")], {}, cwd))
        ctx.progress.step(f"session server {real.address}, echo {echo.address}, stream source {stream.address}")
        yield real, echo, stream


def channel_options() -> list[tuple[str, Any]]:
    from llmspell_sessions.client.channel import ConnectionOptions

    return ConnectionOptions().channel_options()


def append_request(sid: str, events: list[dict[str, Any]]) -> Any:
    """The AppendEventsRequest the client builds for events (to size the echo)."""
    from llmspell_sessions import wire as convert
    from llmspell_sessions._pb import replay_pb2

    request = replay_pb2.AppendEventsRequest(session_id=sid)
    for event in events:
        item = request.events.add(type=event["type"], correlation_id=event.get("correlation_id", ""))
        convert.py_to_struct(event.get("payload") or {}, item.payload)
    return request


# -- 1. appends over gRPC --------------------------------------------------------------------------


def measure_grpc_appends(ctx: Context, client: Any, echo_address: str, real_pid: int, echo_pid: int) -> None:
    sid = client.create_session(name="bench-append")
    stub = client.stub("replay")
    with grpc.insecure_channel(echo_address, channel_options()) as channel:
        echo = channel.unary_unary(ECHO)
        for events, count in ((1, ctx.count(4_000, 600)), (BATCH, ctx.count(600, 100))):
            request = append_request(sid, [EVENT] * events)
            response_bytes = stub.AppendEvents(request, timeout=30).ByteSize()
            payload = b"\x00" * max(request.ByteSize(), response_bytes)
            batch = [EVENT] * events
            name = f"AppendEvents x{events}"
            warmup = max(10, count // 20)
            cpu = (cpu_seconds(real_pid), cpu_seconds(echo_pid))
            raw = ctx.interleave_raw(
                [
                    Contender(name, functools.partial(client.append_events, sid, batch)),
                    Contender("echo", functools.partial(echo, payload, timeout=30)),
                ],
                count,
                warmup=warmup,
                label=name,
            )
            calls = count + warmup
            server_us = (cpu_seconds(real_pid) - cpu[0]) / calls * 1e6
            echo_us = (cpu_seconds(echo_pid) - cpu[1]) / calls * 1e6
            latency(
                ctx,
                f"{name} (per event)",
                "rocksdb",
                per_event(raw[name], events),
                f"grpc echo {len(payload):,} B" + (f" / {events}" if events > 1 else ""),
                per_event(raw["echo"], events),
                Target.at_most_times(1.3, "echo") if events == 1 else None,
                {
                    "events_per_call": events,
                    "request_bytes": request.ByteSize(),
                    "response_bytes": response_bytes,
                    "echo_bytes": len(payload),
                    "call_p50_ns": Summary.of(raw[name]).p50,
                    "client": "SessionClient (blocking)",
                    "server_cpu_us_per_call": server_us,
                    "echo_server_cpu_us_per_call": echo_us,
                },
            )


# -- 2. fan-out --------------------------------------------------------------------------------------


class Subscribers:
    """The subscriber subprocess: ``count`` SubscribeEvents streams and ``count`` bare Subscribe streams."""

    def __init__(self, real: str, sid: str, after_seq: int, bare: str, count: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.scenarios.replay", "subscribe", real, sid, str(after_seq), bare, str(count)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, command: str) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the subscriber process exited ({self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        try:
            self.ask("stop")
        except (RuntimeError, BrokenPipeError, ValueError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def measure_fanout(ctx: Context, client: Any, stream_address: str) -> None:
    from llmspell_sessions import wire as convert

    clock = time.perf_counter_ns
    sid = client.create_session(name="bench-fanout")
    probe = client.append_events(sid, [{"type": "bench.tick", "payload": {"t": str(clock()), "pad": "x" * 64}}])[0]
    event_bytes = convert.event_to_pb(probe).ByteSize()
    request_bytes = append_request(sid, [{"type": "bench.tick", "payload": {"t": str(clock()), "pad": "x" * 64}}])
    message_bytes = max(event_bytes, request_bytes.ByteSize())
    padding = b"\x00" * (message_bytes - 8)
    with grpc.insecure_channel(stream_address, channel_options()) as channel:
        publish = channel.unary_unary(PUBLISH)

        def real(stamp: int) -> None:
            client.append_events(sid, [{"type": "bench.tick", "payload": {"t": str(stamp), "pad": "x" * 64}}])

        def bare(stamp: int) -> None:
            publish(stamp.to_bytes(8, "big") + padding, timeout=30)

        writers: dict[str, Callable[[int], None]] = {"real": real, "bare": bare}
        for count in FANOUT:
            after = client.get_session(sid).last_event_seq
            subscribers = Subscribers(client.options.resolved_target(), sid, after, stream_address, count)
            try:
                wait_ready(subscribers, writers)
                acks: dict[str, dict[int, int]] = {"real": {}, "bare": {}}
                rounds, per_round = 10, ctx.count(60, 12)
                gap = 0.002 + count * 0.0003
                for number in range(rounds):
                    ctx.progress.step(f"fan-out to {count}: round {number + 1}/{rounds}")
                    for kind in ("real", "bare") if number % 2 == 0 else ("bare", "real"):
                        for _ in range(per_round):
                            stamp = clock()
                            writers[kind](stamp)
                            acks[kind][stamp] = clock()
                            time.sleep(gap)
                time.sleep(0.2)
                records = subscribers.ask("take")
            finally:
                subscribers.close()
            record_fanout(ctx, count, acks, records, per_round * rounds, message_bytes, event_bytes, gap)


def wait_ready(subscribers: Subscribers, writers: dict[str, Callable[[int], None]], timeout: float = 60.0) -> None:
    """Writes marker events (stamp 0) until every stream of both kinds has received one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for write in writers.values():
            write(0)
        time.sleep(0.05)
        seen = subscribers.ask("seen")
        if seen["real"] >= 1 and seen["bare"] >= 1:
            subscribers.ask("take")  # drop the markers
            return
    raise RuntimeError("the subscribers did not all connect")


def record_fanout(
    ctx: Context,
    count: int,
    acks: dict[str, dict[int, int]],
    records: dict[str, list[list[int]]],
    writes: int,
    message_bytes: int,
    event_bytes: int,
    gap: float,
) -> None:
    from_send: dict[str, list[float]] = {}
    from_ack: dict[str, list[float]] = {}
    last: dict[str, list[float]] = {}
    for kind in ("real", "bare"):
        got = [(stamp, received) for stamp, received in records[kind] if stamp in acks[kind]]
        from_send[kind] = [received - stamp for stamp, received in got]
        from_ack[kind] = [received - acks[kind][stamp] for stamp, received in got]
        latest: dict[int, int] = {}
        for stamp, received in got:
            latest[stamp] = max(latest.get(stamp, 0), received)
        last[kind] = [received - stamp for stamp, received in latest.items()]
    variant = f"{count} subscriber" + ("s" if count > 1 else "")
    info = {
        "subscribers": count,
        "writes": writes,
        "deliveries_expected": writes * count,
        "deliveries": len(from_send["real"]),
        "ceiling_deliveries": len(from_send["bare"]),
        "event_bytes": event_bytes,
        "ceiling_message_bytes": message_bytes,
        "write_gap_ms": gap * 1000,
        "last_subscriber_from_send_p50_ns": Summary.of(last["real"]).p50,
        "last_subscriber_from_send_p99_ns": Summary.of(last["real"]).p99,
        "ceiling_last_subscriber_from_send_p50_ns": Summary.of(last["bare"]).p50,
        "clients": "writer: SessionClient (blocking); subscribers: AsyncSessionClient in one subprocess",
    }
    target = Target.at_most_us(2_000)
    latency(
        ctx,
        "SubscribeEvents delivery, from send",
        variant,
        Summary.of(from_send["real"]),
        "grpc fan-out",
        Summary.of(from_send["bare"]),
        target,
        info,
    )
    latency(
        ctx,
        "SubscribeEvents delivery, from ack",
        variant,
        Summary.of(from_ack["real"]),
        "grpc fan-out",
        Summary.of(from_ack["bare"]),
        target,
        {"subscribers": count, "note": "negative: delivered before the ack"},
    )


def subscriber_main(real: str, sid: str, after_seq: int, bare: str, count: int) -> int:
    """The subscriber subprocess: holds the streams, answers commands on stdin with JSON lines."""
    asyncio.run(_subscribers(real, sid, after_seq, bare, count))
    return 0


async def _subscribers(real: str, sid: str, after_seq: int, bare: str, count: int) -> None:
    from llmspell_sessions.client import AsyncSessionClient

    clock = time.perf_counter_ns
    records: dict[str, list[tuple[int, int]]] = {"real": [], "bare": []}
    seen = {"real": [0] * count, "bare": [0] * count}
    loop = asyncio.get_running_loop()
    client = AsyncSessionClient(real, timeout=None)
    channel = grpc.aio.insecure_channel(bare, options=channel_options())

    async def follow_real(index: int) -> None:
        out, counts = records["real"], seen["real"]
        async for event in client.subscribe_events(sid, after_seq=after_seq):
            now = clock()
            out.append((int(event.payload["t"]), now))
            counts[index] += 1

    async def follow_bare(index: int) -> None:
        out, counts = records["bare"], seen["bare"]
        async for message in channel.unary_stream(SUBSCRIBE)(b""):
            now = clock()
            out.append((int.from_bytes(message[:8], "big"), now))
            counts[index] += 1

    tasks = [asyncio.ensure_future(follow_real(i)) for i in range(count)]
    tasks += [asyncio.ensure_future(follow_bare(i)) for i in range(count)]
    try:
        while True:
            command = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            for task in tasks:
                if task.done() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            if command == "seen":
                answer: Any = {kind: min(counts) for kind, counts in seen.items()}
            elif command == "take":
                answer = {kind: list(found) for kind, found in records.items()}
                for found in records.values():
                    found.clear()
            else:
                answer = {"stopped": True}
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
            if command not in ("seen", "take"):
                break
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await channel.close()
        await client.close()


# -- 4. replay FAST ----------------------------------------------------------------------------------


def measure_replay(ctx: Context, client: Any, stream_address: str, real_pid: int, stream_pid: int) -> None:
    from llmspell_sessions._pb import replay_pb2
    from llmspell_sessions.model import ReplayMode, ReplayStart
    from llmspell_sessions.wire.replay import start_to_pb

    sid = client.create_session(name="bench-replay")
    ctx.progress.step(f"replay: appending {REPLAY_EVENTS:,} events")
    left = REPLAY_EVENTS - client.get_session(sid).last_event_seq
    while left > 0:
        n = min(APPEND_LIMIT, left)
        client.append_events(sid, [EVENT] * n)
        left -= n
    start = ReplayStart(sid, mode=ReplayMode.FAST)
    start_bytes = replay_pb2.ReplayControl(start=start_to_pb(start)).SerializeToString()
    raw_replay = client.channel.stream_stream(REPLAY_METHOD)  # no deserializer: the frames as bytes

    def replay_client() -> int:
        frames, final = 0, None
        for frame in client.replay_session(start):
            frames, final = frames + 1, frame
        assert final is not None and final.event is None and final.total == REPLAY_EVENTS, final
        return frames

    def replay_raw() -> int:
        return sum(1 for _ in raw_replay(iter([start_bytes]), timeout=600))

    ctx.progress.step("replay: sizing the frames")
    sizes = [len(m) for m in raw_replay(iter([start_bytes]), timeout=600)]  # also warms the server's path
    frames = len(sizes)
    assert frames == REPLAY_EVENTS + 1, frames
    frame_bytes = int(statistics.median(sizes))
    with grpc.insecure_channel(stream_address, channel_options()) as channel:
        source = channel.unary_stream(SOURCE)
        request = source_request(frames, frame_bytes)
        # short warm-ups (a tenth of the work) instead of a whole untimed replay of each kind
        for _ in client.replay_session(ReplayStart(sid, mode=ReplayMode.FAST, to_seq=REPLAY_EVENTS // 10)):
            pass
        sum(1 for _ in source(source_request(frames // 10, frame_bytes), timeout=600))

        cpu: dict[str, float] = {"client": 0.0, "raw": 0.0, "source": 0.0}

        def on_cpu(name: str, pid: int, op: Callable[[], int]) -> Callable[[], int]:
            def timed() -> int:
                before = cpu_seconds(pid)
                done = op()
                cpu[name] += cpu_seconds(pid) - before
                return done

            return timed

        def bare() -> int:
            return sum(1 for _ in source(request, timeout=600))

        rounds = ctx.count(8, 2)
        raw = ctx.interleave_raw(
            [
                Contender("client", on_cpu("client", real_pid, replay_client)),
                Contender("raw", on_cpu("raw", real_pid, replay_raw)),
                Contender("source", on_cpu("source", stream_pid, bare)),
            ],
            rounds,
            rounds=rounds,
            label=f"replay {REPLAY_EVENTS:,} events",
        )
    ceiling = per_event(raw["source"], frames)
    target = Target(">= 0.8x grpc stream msg/s", 1 / 0.8, relative=True)  # per event: <= 1.25x the stream's time
    per_frame_us = {name: seconds / rounds / frames * 1e6 for name, seconds in cpu.items()}
    info = {
        "events": REPLAY_EVENTS,
        "frames": frames,
        "frame_bytes_p50": frame_bytes,
        "frame_bytes_max": max(sizes),
        "replays": rounds,
        "stream_seconds_p50": Summary.of(raw["source"]).p50 / 1e9,
        "stream_server_cpu_us_per_message": per_frame_us["source"],
    }
    latency(
        ctx,
        "ReplaySession FAST (per event)",
        "SessionClient",
        per_event(raw["client"], frames),
        f"grpc stream {frame_bytes} B",
        ceiling,
        target,
        {
            **info,
            "replay_seconds_p50": Summary.of(raw["client"]).p50 / 1e9,
            "server_cpu_us_per_frame": per_frame_us["client"],
        },
    )
    latency(
        ctx,
        "ReplaySession FAST (per event)",
        "raw bytes",
        per_event(raw["raw"], frames),
        f"grpc stream {frame_bytes} B",
        ceiling,
        target,
        {
            **info,
            "replay_seconds_p50": Summary.of(raw["raw"]).p50 / 1e9,
            "server_cpu_us_per_frame": per_frame_us["raw"],
            "note": "same RPC on the same channel, frames not decoded: the server's rate",
        },
    )


# -- the scenario -------------------------------------------------------------------------------------


def run(ctx: Context) -> None:
    """Embedded figures first, then the gRPC ones against one set of servers."""
    from llmspell_sessions.client import SessionClient

    rocks = RawRocks(ctx.tempdir("replay-ceiling") / "db", prefill=1_000)
    try:
        measure_embedded_appends(ctx, rocks)
    finally:
        rocks.close()
    measure_snapshots(ctx)
    measure_hooks(ctx)
    with servers(ctx) as (real, echo, stream), SessionClient(real.address, timeout=600) as client:
        measure_grpc_appends(ctx, client, echo.address, real.proc.pid, echo.proc.pid)
        measure_fanout(ctx, client, stream.address)
        measure_replay(ctx, client, stream.address, real.proc.pid, stream.proc.pid)


if __name__ == "__main__" and sys.argv[1:2] == ["subscribe"]:
    real_address, session_id, after, bare_address, streams = sys.argv[2:7]
    sys.exit(subscriber_main(real_address, session_id, int(after), bare_address, int(streams)))
