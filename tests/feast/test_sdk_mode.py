"""SDK mode against real Feast online stores (SQLite, Redis), compared with Feast's own answers."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from orkestra.errors import SourceTimeout, SourceUnavailable
from orkestra.sources.base import ComponentState
from orkestra.sources.feast import FeastSourceType
from tests.feast.feast_support import (
    REFS,
    FeastRepo,
    call_context,
    data_source,
    make_feast,
    sdk_source,
)

pytestmark = pytest.mark.feast


@pytest.fixture(params=["sqlite", "redis"])
def repo(request: pytest.FixtureRequest) -> FeastRepo:
    built: FeastRepo = request.getfixturevalue(f"{request.param}_repo")
    return built


@pytest.fixture
async def feast_type(repo: FeastRepo) -> AsyncIterator[FeastSourceType]:
    source_type = make_feast(repo.project_dir, {"iris": sdk_source(repo)})
    yield source_type
    await source_type.close()


async def test_one_entity_equals_feast(repo: FeastRepo, feast_type: FeastSourceType) -> None:
    op = feast_type.bind(data_source(operation="iris_all"))
    await feast_type.start()
    assert feast_type.status()["iris"].state is ComponentState.READY

    row = await op.call({"iris_id": 3}, call_context())

    assert row == {"iris_id": 3, **repo.expected([3])[0]}
    assert row["iris:sepal_length"] == pytest.approx(4.6)  # iris row 3 of scikit-learn's copy


async def test_many_entities_are_one_feast_call_in_order(
    repo: FeastRepo, feast_type: FeastSourceType
) -> None:
    op = feast_type.bind(data_source(operation="iris_all"))
    await feast_type.start()
    store = feast_type.feature_store("iris")
    method = (
        "get_online_features_async"
        if store._get_provider().async_supported.online.read
        else "get_online_features"
    )
    calls: list[int] = []
    original = getattr(store, method)

    @functools.wraps(original)
    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(kwargs["entity_rows"]["iris_id"]))
        return original(*args, **kwargs)

    setattr(store, method, spy)
    ids = [(i * 37) % 139 for i in range(100)]  # scrambled, with repeats

    rows = await op.call({"iris_id": ids}, call_context())

    assert calls == [100]
    assert [row["iris_id"] for row in rows] == ids
    assert [{ref: row[ref] for ref in REFS} for row in rows] == repo.expected(ids)


async def test_redis_reads_use_feasts_async_path(redis_repo: FeastRepo) -> None:
    source_type = make_feast(redis_repo.project_dir, {"iris": sdk_source(redis_repo)})
    try:
        await source_type.start()
        assert source_type.status()["iris"].details["async_reads"] is True
    finally:
        await source_type.close()


async def test_missing_entity_is_null_without_fallback(
    repo: FeastRepo, feast_type: FeastSourceType
) -> None:
    op = feast_type.bind(data_source(operation="iris_all"))
    await feast_type.start()

    rows = await op.call([5, 145, 10_000], call_context())  # bare list: `entity_key` names it

    assert rows[1] == {"iris_id": 145, **{ref: None for ref in REFS}}
    assert rows[2] == {"iris_id": 10_000, **{ref: None for ref in REFS}}
    assert rows[0]["iris:petal_width"] == repo.expected([5])[0]["iris:petal_width"]
    assert "_sources" not in rows[0]


async def test_path_param_strings_find_integer_entities(
    repo: FeastRepo, feast_type: FeastSourceType
) -> None:
    op = feast_type.bind(data_source(operation="iris_all"))
    await feast_type.start()

    row = await op.call({"iris_id": "7"}, call_context())

    assert {ref: row[ref] for ref in REFS} == repo.expected([7])[0]


async def test_explicit_features_and_registry_feature_service(
    repo: FeastRepo, feast_type: FeastSourceType
) -> None:
    by_refs = feast_type.bind(data_source(features=["iris:petal_width"]))
    # `iris_petals` is not declared in the config: it is looked up in the Feast registry at start
    by_registry = feast_type.bind(data_source(operation="iris_petals"))
    await feast_type.start()

    assert await by_refs.call(9, call_context()) == {
        "iris_id": 9,
        "iris:petal_width": repo.expected([9])[0]["iris:petal_width"],
    }
    expected = repo.expected([9])[0]
    assert await by_registry.call(9, call_context()) == {
        "iris_id": 9,
        "iris:petal_length": expected["iris:petal_length"],
        "iris:petal_width": expected["iris:petal_width"],
    }


async def test_unknown_registry_service_fails_only_its_data_source(
    sqlite_repo: FeastRepo,
) -> None:
    source_type = make_feast(sqlite_repo.project_dir, {"iris": sdk_source(sqlite_repo)})
    good = source_type.bind(data_source(operation="iris_all"))
    bad = source_type.bind(data_source(operation="no_such_service"))
    try:
        await source_type.start()
        status = source_type.status()["iris"]
        assert status.state is ComponentState.READY
        assert status.details["missing_feature_services"] == ["no_such_service"]
        with pytest.raises(SourceUnavailable, match="no_such_service"):
            await bad.call(1, call_context())
        assert (await good.call(1, call_context()))["iris_id"] == 1
    finally:
        await source_type.close()


async def test_missing_repo_fails_that_source_at_start_not_the_others(
    sqlite_repo: FeastRepo,
) -> None:
    never_applied = sqlite_repo.project_dir / "never_applied"
    never_applied.mkdir(exist_ok=True)
    (never_applied / "feature_store.yaml").write_text(
        "project: empty\nregistry: registry.db\nprovider: local\n"
        "online_store:\n  type: sqlite\n  path: online.db\n"
    )
    sources = {
        "iris": sdk_source(sqlite_repo),
        "gone": {**sdk_source(sqlite_repo), "repo_path": "no_such_repo"},
        "other_project": {**sdk_source(sqlite_repo), "project": "not_this_one"},
        "not_applied": {
            **sdk_source(sqlite_repo),
            "repo_path": str(never_applied),
            "project": None,
        },
    }
    source_type = make_feast(sqlite_repo.project_dir, sources)
    ops = {sid: source_type.bind(data_source(sid, operation="iris_all")) for sid in sources}
    try:
        await source_type.start()  # must not raise
        status = source_type.status()
        assert status["gone"].state is ComponentState.FAILED
        assert "no feature_store.yaml" in (status["gone"].error or "")
        assert status["other_project"].state is ComponentState.FAILED
        assert "not_this_one" in (status["other_project"].error or "")
        assert status["not_applied"].state is ComponentState.FAILED
        assert "run `feast apply`" in (status["not_applied"].error or "")
        with pytest.raises(SourceUnavailable, match="gone"):
            await ops["gone"].call(1, call_context())
        assert (await ops["iris"].call(1, call_context()))["iris_id"] == 1
    finally:
        await source_type.close()
    assert source_type.status()["iris"].state is ComponentState.STOPPED


async def test_reads_run_concurrently(sqlite_repo: FeastRepo) -> None:
    """SQLite reads run in a worker pool: many concurrent calls all answer, none is lost."""
    source_type = make_feast(sqlite_repo.project_dir, {"iris": sdk_source(sqlite_repo)})
    op = source_type.bind(data_source(operation="iris_all"))
    try:
        await source_type.start()
        rows = await asyncio.gather(*(op.call(i, call_context()) for i in range(40)))
        assert [row["iris_id"] for row in rows] == list(range(40))
        assert [{ref: row[ref] for ref in REFS} for row in rows] == sqlite_repo.expected(
            list(range(40))
        )
    finally:
        await source_type.close()


async def test_a_slow_online_store_times_out_within_the_data_sources_timeout(
    sqlite_repo: FeastRepo,
) -> None:
    source_type = make_feast(sqlite_repo.project_dir, {"iris": sdk_source(sqlite_repo)})
    op = source_type.bind(data_source(operation="iris_all"))
    try:
        await source_type.start()
        store = source_type.feature_store("iris")
        original = store.get_online_features
        release = threading.Event()

        def stuck(*args: Any, **kwargs: Any) -> Any:
            release.wait(5)  # a store that hangs until the test is over
            return original(*args, **kwargs)

        store.get_online_features = stuck
        async with asyncio.timeout(3):
            with pytest.raises(SourceTimeout, match="within 0.2s") as caught:
                await op.call(1, call_context(timeout=0.2))
        release.set()
        assert caught.value.status == 504
        assert "feast source 'iris'" in caught.value.message
    finally:
        await source_type.close()
