"""A chat-completions server on loopback: the ``openai`` back end's counterpart in tests (a
model server is outside the project, so it is faked, over real HTTP)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ChatServer:
    """A chat-completions endpoint that answers with canned replies, in order."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, str]] = []
        self.requests: list[dict[str, Any]] = []
        # Called before each reply, while the model "thinks": what a person does meanwhile.
        self.meanwhile: Callable[[], None] | None = None
        # The token counts each reply says it used, as OpenAI-compatible servers do.
        self.usage = {"prompt_tokens": 120, "completion_tokens": 30}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                if server.meanwhile is not None:
                    server.meanwhile()
                status, content = server.replies.pop(0) if server.replies else (200, "{}")
                payload = json.dumps(
                    {"choices": [{"message": {"role": "assistant", "content": content}}], "usage": server.usage}
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
