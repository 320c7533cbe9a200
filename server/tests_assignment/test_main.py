from fastapi.testclient import TestClient

from app.main import app

client = TestClient(app)


def test_process_message_basic():
    resp = client.post("/process", json={"text": "test message"})
    assert resp.status_code == 200
    data = resp.json()
    assert data["original"] == "test message"
    assert "I received your message: 'test message'" in data["reply"]
