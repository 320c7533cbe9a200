"""A small OpenAI-compatible chat-completions endpoint for the tests: it answers every
`POST /v1/chat/completions` with a reply naming how many messages it was sent, and keeps each
request, so a test sees what the Router asked. No model anywhere."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class LlmStub:
    url: str  # the base_url an llm agent is configured with
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)  # names in lower case


@contextmanager
def llm_stub() -> Iterator[LlmStub]:
    stub = LlmStub("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the standard library names it
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path != "/v1/chat/completions":
                self.send_error(404)
                return
            stub.requests.append(body)
            stub.headers.append({name.lower(): value for name, value in self.headers.items()})
            content = f"stub answer to {body['messages'][-1]['content']!r}"
            answer = json.dumps(
                {
                    "id": f"chatcmpl-{len(stub.requests)}",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                        }
                    ],
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: pytest shows the test's own output

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
