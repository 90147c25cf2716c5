"""The asyncio flavour against the real daemon: the original flow with coroutines, async iteration, errors."""

import asyncio
import time

import pytest

import rtudp
from rtudp import Client
from rtudp.aio import AsyncRtUdp

from test_stats import _expected_keys


def test_the_original_flow_with_asyncio(daemon):
    async def flow():
        async with AsyncRtUdp("127.0.0.1", 0, direction=1, daemon=daemon.socket_path, priority=0) as rx:
            async with AsyncRtUdp("127.0.0.1", 0, "127.0.0.1", rx.local_port, direction=0, daemon=daemon.socket_path, priority=0) as tx:
                assert await rx.receive_data(timeout_ns=1_000_000) == (None, None)  # nothing sent yet: the timeout's result
                due = time.monotonic_ns() + 1_000_000
                for i in range(100):
                    await tx.send_data(b"aio %d" % i, due + i * 10_000)
                got = []
                async for packet in rx.packets(timeout_ns=2_000_000_000):
                    got.append(packet)
                    if len(got) == 100:
                        break
                assert [p.payload for p in got] == [b"aio %d" % i for i in range(100)]
                assert all(p.monotonic_ns >= due for p in got)
                stats = await tx.wait_sent(timeout_s=10)
                assert stats["n_packets_sent"] == 100 and stats["client_confirmed"] == 100 and stats["max_latency_ns"] > 0
                expected = _expected_keys(await tx.client.get_stats(tx.name))
                assert expected <= set(stats), f"missing: {sorted(expected - set(stats))}"
                assert (await rx.get_packet_stats())["client_received"] == 100
                assert await tx.start() is False

    asyncio.run(flow())


def test_asyncio_errors_carry_the_daemons_details(daemon):
    async def errors():
        with pytest.raises(rtudp.InvalidArgumentError) as caught:
            await AsyncRtUdp("999.1.1.1", 0, direction=1, daemon=daemon.socket_path).init_socket()
        assert caught.value.field_violations[0].field == "channel.local.address"
        with pytest.raises(rtudp.DaemonUnreachableError):
            await AsyncRtUdp("127.0.0.1", 0, direction=1, daemon=daemon.root + "/none.sock").init_socket()
        tx = AsyncRtUdp("127.0.0.1", 0, "127.0.0.1", 9, direction=0, daemon=daemon.socket_path, priority=0)
        await tx.init_socket()
        await tx.start()
        Client(daemon.socket_path).delete_channel(tx.name)
        await tx.send_data(b"x")
        with pytest.raises(rtudp.NotFoundError):
            await tx.flush()
        with pytest.raises(rtudp.InvalidArgumentError):
            await tx.send_data("not bytes")

    asyncio.run(errors())
