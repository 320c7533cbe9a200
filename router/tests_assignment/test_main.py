from fastapi.testclient import TestClient

from app.main import app

client = TestClient(app)


def test_webhook_ignores_invalid_payload():
    resp = client.post("/webhook", json={})
    assert resp.status_code == 200
    assert resp.json()["status"] == "ignored"
