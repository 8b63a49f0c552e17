"""`sanliang cases list/show/export`."""

from __future__ import annotations

import asyncio
import csv
import json

import pytest

from bot.cli import main
from bot.domain.cases import NewCase
from bot.store import Store


async def _seed(db: str) -> list[str]:
    store = await Store.open(db)
    try:
        refs = []
        for i, (cat, urgent) in enumerate([("living", False), ("safety", True), ("jobs", False)]):
            case, _ = await store.cases.create(
                NewCase(
                    draft_id=f"cli-draft-{i:03d}",
                    user_id=70 + i,
                    category=cat,
                    region_city="德阳市",
                    region_district="旌阳区",
                    description=f"情况说明{i}",
                    phone=f"1390000{i:04d}",
                    contact_time="any",
                    target_days=1 if urgent else 3,
                    urgent_by_resident=urgent,
                ),
                now=1733011200 + i * 60,
            )
            refs.append(case.ref)
        await store.cases.change_status(
            (await store.cases.get_by_ref(refs[2])).id, "withdrawn", "resident", 72
        )
        return refs
    finally:
        await store.close()


@pytest.fixture
def seeded(db_path):
    return db_path, asyncio.run(_seed(db_path))


def test_list_json(seeded, capsys):
    db, refs = seeded
    assert main(["cases", "list", "--db", db, "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [it["ref"] for it in items] == list(reversed(refs))
    for it in items:
        assert {"ref", "status", "category", "region", "created_at", "urgent"} <= set(it)
        assert it["region"] == "德阳市/旌阳区"
        assert "****" in it["phone"] and it["phone"].startswith("139")
    assert items[1]["urgent"] is True and items[1]["category"] == "safety"
    assert items[0]["created_at"].startswith("2024-12-01T08:02")


def test_list_filters_by_status_and_masks_text_output(seeded, capsys):
    db, refs = seeded
    assert main(["cases", "list", "--db", db, "--status", "withdrawn", "--json"]) == 0
    assert [it["ref"] for it in json.loads(capsys.readouterr().out)] == [refs[2]]
    assert main(["cases", "list", "--db", db]) == 0
    out = capsys.readouterr().out
    assert all(ref in out for ref in refs)
    assert "13900000001" not in out and "139****0001" in out


def test_show(seeded, capsys):
    db, refs = seeded
    assert main(["cases", "show", refs[2].lower(), "--db", db, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["phone"] == "13900000002" and data["description"] == "情况说明2"
    assert [(h["from"], h["to"]) for h in data["history"]] == [(None, "new"), ("new", "withdrawn")]
    assert main(["cases", "show", refs[0], "--db", db]) == 0
    assert "情况说明0" in capsys.readouterr().out
    assert main(["cases", "show", "SC-0000-ZZZZ", "--db", db]) == 1


def test_export_csv(seeded, tmp_path):
    db, refs = seeded
    out = tmp_path / "cases.csv"
    assert main(["cases", "export", "--csv", str(out), "--db", db]) == 0
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["ref"] for r in rows) == sorted(refs)
    assert all("****" in r["phone"] for r in rows)
    assert main(["cases", "export", "--csv", str(out), "--db", db, "--full-phone"]) == 0
    with out.open(encoding="utf-8-sig", newline="") as fh:
        assert "13900000000" in {r["phone"] for r in csv.DictReader(fh)}


def test_missing_database(tmp_path, capsys):
    missing = str(tmp_path / "nope.db")
    assert main(["cases", "list", "--db", missing]) == 1
    assert not (tmp_path / "nope.db").exists()


def test_terminal_views_of_personal_data_are_audited(seeded, tmp_path, capsys):
    db, refs = seeded
    assert main(["cases", "show", refs[0], "--db", db]) == 0
    assert (
        main(["cases", "export", "--csv", str(tmp_path / "c.csv"), "--db", db, "--full-phone"]) == 0
    )
    assert main(["cases", "list", "--db", db, "--json"]) == 0
    capsys.readouterr()

    async def entries():
        store = await Store.open(db)
        try:
            return await store.fetchall(
                "SELECT actor_role, action, case_id, detail FROM audit_log ORDER BY id"
            )
        finally:
            await store.close()

    rows = [tuple(r) for r in asyncio.run(entries())]
    assert [(r[0], r[1]) for r in rows] == [
        ("operator", "cli_show"),
        ("operator", "cli_export"),
        ("operator", "cli_list"),
    ]
    assert rows[1][3] == "n=3 phone=full"
    assert not any("1390000" in str(v) for r in rows for v in r)
