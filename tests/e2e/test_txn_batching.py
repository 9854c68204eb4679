"""Group commit in the apiserver's store client (storage.TxnBatcher), against the
real etcd 3.4 as the oracle: concurrent guarded writes batched into nested Txns must
have exactly the outcomes they would have had one by one."""

from __future__ import annotations

import asyncio

import pytest

from actors.apiserver.storage import EtcdKV
from actors.etcd.realetcd import RealEtcd, etcd_binary

pytestmark = pytest.mark.skipif(etcd_binary() is None, reason="etcd-server not installed")


@pytest.fixture(scope="module")
def real_etcd():
    with RealEtcd(members=1) as e:
        yield e


def test_concurrent_writes_are_batched_and_each_keeps_its_own_outcome(real_etcd: RealEtcd) -> None:
    async def run() -> None:
        kv = EtcdKV(real_etcd.endpoints)
        try:
            created = await asyncio.gather(*(kv.create(f"/registry/t/k{i}", b"v0")
                                             for i in range(300)))
            assert all(r.ok for r in created)
            # creating again fails per key, with the current value returned
            again = await asyncio.gather(*(kv.create(f"/registry/t/k{i}", b"x")
                                           for i in range(0, 300, 7)))
            assert not any(r.ok for r in again)
            assert all(r.current is not None and r.current.value == b"v0" for r in again)
            # updates: odd keys with the right revision succeed, even keys with a stale
            # one fail; plus two writers racing on one key: exactly one wins
            revs = {f"/registry/t/k{i}": r.revision for i, r in enumerate(created)}
            ups = [kv.update(k, b"v1", rev if int(k.rsplit("k", 1)[1]) % 2 else rev - 1)
                   for k, rev in revs.items()]
            race = [kv.update("/registry/t/k1", b"racer", revs["/registry/t/k1"])]
            res = await asyncio.gather(*ups, *race)
            by_key = dict(zip(list(revs) + ["race"], res))
            for k, r in by_key.items():
                if k == "race":
                    continue
                n = int(k.rsplit("k", 1)[1])
                if n != 1:
                    assert r.ok == bool(n % 2), k
            assert by_key["/registry/t/k1"].ok != by_key["race"].ok
            listed = await kv.list("/registry/t/")
            values = {x.key: x.value for x in listed.kvs}
            assert len(values) == 300
            for k, v in values.items():
                n = int(k.rsplit("k", 1)[1])
                if n == 1:
                    assert v in (b"v1", b"racer")
                else:
                    assert v == (b"v1" if n % 2 else b"v0"), k
            st = kv._batcher.stats
            assert st["txns"] >= 600 and st["batches"] < st["txns"] / 4, st
            # deletes through the batcher
            dels = await asyncio.gather(*(kv.delete(x.key, x.mod_revision) for x in listed.kvs))
            assert all(r.ok for r in dels)
            assert (await kv.list("/registry/t/")).kvs == []
        finally:
            await kv.close()

    asyncio.run(run())
