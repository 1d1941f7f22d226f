#!/usr/bin/env python3
"""A scripted stand-in for the model APIs the agents call, for tests.

Speaks just enough of three wire formats to drive an agent through a
fixed task: the Anthropic Messages API (streamed as server-sent events,
as Claude Code and opencode's anthropic provider use it), the OpenAI
Responses API (codex), and the Gemini API (streamGenerateContent and
generateContent).

The script is a JSON list of steps. Each step becomes one tool call in the
agent's own vocabulary, picked from the tools the request offers:

    {"shell": "git commit -qm x"}        the agent's shell tool
    {"write": {"path": "/abs/f", "content": "..."}}   its write tool (or shell)
    {"edit": {"path": "/abs/f", "old": "a", "new": "b"}}  its edit tool
    {"read": "/abs/f"}                   its read tool (or shell `cat`)

After the last step the model answers with the text FINAL_TEXT. The mock is
stateless: the step is the number of tool results already in the
conversation it is sent, so retries and side requests do not derail it.
Requests that offer no tools (titles, summaries) get a short text answer.

Every request body is appended to the log file, one JSON line each, so a
test can check from outside what reached the "model".

Usage: mock_model.py SCRIPT.json LOG.jsonl   (prints the port, then serves
on 127.0.0.1 until killed)
"""

import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FINAL_TEXT = "NONO-MOCK-TASK-DONE"

SCRIPT = []
LOG_PATH = None
LOG_LOCK = threading.Lock()


def log(path, body):
    with LOG_LOCK:
        with open(LOG_PATH, "a", encoding="utf-8") as f:
            f.write(json.dumps({"path": path, "body": body}) + "\n")


# --------------------------------------------------------------- tool choice


def props(schema):
    return (schema or {}).get("properties") or {}


def pick(tools, names):
    """The first offered tool whose name is in `names` (case-insensitive)."""
    by_name = {t[0].lower(): t for t in tools}
    for n in names:
        if n.lower() in by_name:
            return by_name[n.lower()]
    return None


SHELL_TOOLS = ["Bash", "bash", "shell", "exec_command", "shell_command",
               "run_shell_command", "local_shell"]


def shell_call(tools, cmd):
    t = pick(tools, SHELL_TOOLS)
    if t is None:
        return None
    name, schema = t
    p = props(schema)
    args = {}
    if "command" in p:
        if p["command"].get("type") == "array":
            args["command"] = ["bash", "-lc", cmd]
        else:
            args["command"] = cmd
    elif "cmd" in p:
        args["cmd"] = cmd
    else:
        args["command"] = cmd
    if "description" in p:
        args["description"] = "scripted step"
    if "timeout" in p and p["timeout"].get("type") in ("integer", "number"):
        args["timeout"] = 60000
    return name, args


def path_key(schema, candidates):
    p = props(schema)
    for c in candidates:
        if c in p:
            return c
    return candidates[0]


def step_call(tools, step):
    """(tool name, arguments) for one step, in the offered vocabulary."""
    if "shell" in step:
        return shell_call(tools, step["shell"])
    if "write" in step:
        w = step["write"]
        t = pick(tools, ["Write", "write", "write_file"])
        if t is not None:
            k = path_key(t[1], ["file_path", "filePath", "path", "absolute_path"])
            return t[0], {k: w["path"], "content": w["content"]}
        return shell_call(tools, "printf '%%s' %s > %s" % (quote(w["content"]), quote(w["path"])))
    if "edit" in step:
        e = step["edit"]
        t = pick(tools, ["Edit", "edit", "replace"])
        if t is not None:
            k = path_key(t[1], ["file_path", "filePath", "path", "absolute_path"])
            p = props(t[1])
            old = "old_string" if "old_string" in p else "oldString"
            new = "new_string" if "new_string" in p else "newString"
            args = {k: e["path"], old: e["old"], new: e["new"]}
            if "instruction" in p:
                args["instruction"] = "scripted edit"
            return t[0], args
        return shell_call(tools, "sed -i 's/%s/%s/' %s" % (e["old"], e["new"], quote(e["path"])))
    if "read" in step:
        t = pick(tools, ["Read", "read", "read_file"])
        if t is not None:
            k = path_key(t[1], ["file_path", "filePath", "absolute_path", "path"])
            return t[0], {k: step["read"]}
        return shell_call(tools, "cat %s" % quote(step["read"]))
    return None


def from_schema(schema):
    """A small value that satisfies a JSON schema (Gemini's side requests:
    routing, next-speaker checks)."""
    if schema.get("enum"):
        return schema["enum"][0]
    t = str(schema.get("type", "object")).lower()
    if t == "object":
        return {k: from_schema(v) for k, v in props(schema).items()}
    if t == "array":
        return []
    if t in ("integer", "number"):
        return 1
    if t == "boolean":
        return False
    return "done"


def quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def next_call(tools, done):
    """The tool call for step `done`, or None when the task is over."""
    while done < len(SCRIPT):
        call = step_call(tools, SCRIPT[done])
        if call is not None:
            return call
        done += 1  # no tool for this step: skip it
    return None


# ------------------------------------------------------------------- server


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {"raw": raw.decode("utf-8", "replace")}

    def send_json(self, obj, code=200):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_sse(self, events):
        data = "".join(events).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        log(self.path, None)
        path = self.path.split("?")[0]
        if path.endswith("/models"):
            return self.send_json({"object": "list", "data": [
                {"id": "mock", "object": "model", "created": 0, "owned_by": "nono"}],
                "models": []})
        self.send_json({})

    def do_POST(self):
        body = self.body()
        log(self.path, body)
        path = self.path.split("?")[0]
        if path.endswith("/messages/count_tokens"):
            return self.send_json({"input_tokens": 10})
        if path.endswith("/messages"):
            return self.anthropic(body)
        if path.endswith("/responses"):
            return self.openai_responses(body)
        if ":streamGenerateContent" in path or ":generateContent" in path:
            return self.gemini(body, ":streamGenerateContent" in path)
        if path.endswith(":countTokens"):
            return self.send_json({"totalTokens": 10})
        if path.endswith("/chat/completions"):
            return self.send_json({"error": {"message": "chat completions not scripted"}}, 404)
        self.send_json({})

    # ---------------------------------------------------------- Anthropic

    def anthropic(self, body):
        tools = [(t.get("name", ""), t.get("input_schema")) for t in body.get("tools") or []]
        done = 0
        for m in body.get("messages") or []:
            if isinstance(m.get("content"), list):
                done += sum(1 for c in m["content"] if c.get("type") == "tool_result")
        call = next_call(tools, done) if tools else None
        model = body.get("model", "mock")
        mid = "msg_" + uuid.uuid4().hex[:20]
        usage = {"input_tokens": 10, "output_tokens": 5}
        if call is None:
            text = FINAL_TEXT if tools else "ok"
            content = [{"type": "text", "text": text}]
            stop = "end_turn"
        else:
            content = [{"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:20],
                        "name": call[0], "input": call[1]}]
            stop = "tool_use"
        if not body.get("stream"):
            return self.send_json({"id": mid, "type": "message", "role": "assistant",
                                   "model": model, "content": content,
                                   "stop_reason": stop, "stop_sequence": None,
                                   "usage": usage})

        def ev(name, data):
            return "event: %s\ndata: %s\n\n" % (name, json.dumps(data))

        out = [ev("message_start", {"type": "message_start", "message": {
            "id": mid, "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 1}}})]
        block = content[0]
        if block["type"] == "text":
            out.append(ev("content_block_start", {"type": "content_block_start", "index": 0,
                                                  "content_block": {"type": "text", "text": ""}}))
            out.append(ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                  "delta": {"type": "text_delta",
                                                            "text": block["text"]}}))
        else:
            out.append(ev("content_block_start", {"type": "content_block_start", "index": 0,
                                                  "content_block": {"type": "tool_use",
                                                                    "id": block["id"],
                                                                    "name": block["name"],
                                                                    "input": {}}}))
            out.append(ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                  "delta": {"type": "input_json_delta",
                                                            "partial_json":
                                                                json.dumps(block["input"])}}))
        out.append(ev("content_block_stop", {"type": "content_block_stop", "index": 0}))
        out.append(ev("message_delta", {"type": "message_delta",
                                        "delta": {"stop_reason": stop, "stop_sequence": None},
                                        "usage": {"output_tokens": 5}}))
        out.append(ev("message_stop", {"type": "message_stop"}))
        self.send_sse(out)

    # ------------------------------------------------- OpenAI Responses

    def openai_responses(self, body):
        tools = []
        for t in body.get("tools") or []:
            if t.get("type") == "function":
                tools.append((t.get("name", ""), t.get("parameters")))
            elif t.get("type") == "local_shell":
                tools.append(("local_shell", {"properties": {"command": {"type": "array"}}}))
        items = body.get("input") or []
        done = sum(1 for i in items if isinstance(i, dict) and i.get("type") in (
            "function_call_output", "local_shell_call_output", "custom_tool_call_output"))
        call = next_call(tools, done) if tools else None
        rid = "resp_" + uuid.uuid4().hex[:20]
        if call is None:
            item = {"type": "message", "role": "assistant", "id": "msg_" + uuid.uuid4().hex[:8],
                    "status": "completed",
                    "content": [{"type": "output_text", "text": FINAL_TEXT if tools else "ok",
                                 "annotations": []}]}
        else:
            item = {"type": "function_call", "id": "fc_" + uuid.uuid4().hex[:8],
                    "call_id": "call_" + uuid.uuid4().hex[:12], "name": call[0],
                    "arguments": json.dumps(call[1]), "status": "completed"}
        usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": 15}
        resp = {"id": rid, "object": "response", "status": "completed",
                "model": body.get("model", "mock"), "output": [item], "usage": usage}
        if not body.get("stream"):
            return self.send_json(resp)

        def ev(name, data):
            data = dict(data, type=name)
            return "event: %s\ndata: %s\n\n" % (name, json.dumps(data))

        created = dict(resp, status="in_progress", output=[])
        out = [ev("response.created", {"response": created}),
               ev("response.output_item.added", {"output_index": 0, "item": item}),
               ev("response.output_item.done", {"output_index": 0, "item": item}),
               ev("response.completed", {"response": resp})]
        self.send_sse(out)

    # ----------------------------------------------------------- Gemini

    def gemini(self, body, stream):
        tools = []
        for t in body.get("tools") or []:
            for f in t.get("functionDeclarations") or []:
                tools.append((f.get("name", ""),
                              f.get("parametersJsonSchema") or f.get("parameters")))
        done = 0
        for c in body.get("contents") or []:
            done += sum(1 for p in c.get("parts") or [] if "functionResponse" in p)
        # Side requests (next-speaker checks, summaries) offer no tools and
        # may ask for JSON: answer plainly.
        call = next_call(tools, done) if tools else None
        if call is None:
            cfg = body.get("generationConfig") or {}
            if not tools and cfg.get("responseMimeType") == "application/json":
                text = json.dumps(from_schema(cfg.get("responseJsonSchema")
                                              or cfg.get("responseSchema") or {}))
            else:
                text = FINAL_TEXT if tools else "ok"
            parts = [{"text": text}]
        else:
            parts = [{"functionCall": {"name": call[0], "args": call[1]}}]
        resp = {"candidates": [{"content": {"role": "model", "parts": parts},
                                "finishReason": "STOP", "index": 0}],
                "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                                  "totalTokenCount": 15},
                "modelVersion": "mock"}
        if not stream:
            return self.send_json(resp)
        self.send_sse(["data: %s\n\n" % json.dumps(resp)])


def main():
    global SCRIPT, LOG_PATH
    with open(sys.argv[1], encoding="utf-8") as f:
        SCRIPT = json.load(f)
    LOG_PATH = sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
