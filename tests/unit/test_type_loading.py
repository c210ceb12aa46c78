"""Request types are found through QUEUE_TYPES and through installed entry points."""

import sys

from dashboard.queue import load_types, registry


def test_types_register_from_an_installed_entry_point(tmp_path, monkeypatch):
    (tmp_path / "shop_types.py").write_text(
        "from dashboard.queue import RequestType\n"
        "class GiftcardCreate(RequestType):\n"
        "    type_code = 'test_giftcard_create'\n"
        "    def execute(self, payload, context):\n"
        "        return 'created'\n")
    dist = tmp_path / "shop_types-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shop-types\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[dashboard.request_types]\nshop = shop_types\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "test_giftcard_create" not in registry
    load_types()
    assert registry.get("test_giftcard_create").type_code == "test_giftcard_create"
    monkeypatch.delitem(sys.modules, "shop_types")


def test_types_register_from_queue_types(tmp_path, monkeypatch):
    (tmp_path / "crm_types.py").write_text(
        "from dashboard.queue import RequestType\n"
        "class ContactUpdate(RequestType):\n"
        "    type_code = 'test_contact_update'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    load_types(["crm_types"])
    assert "test_contact_update" in registry
    monkeypatch.delitem(sys.modules, "crm_types")
