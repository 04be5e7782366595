#!/usr/bin/env python3
"""Drives `hearth chat` on a pseudo-terminal: libedit line editing (backspace,
history recall with the up arrow), multi-line input (trailing backslash), and
Ctrl-C during an answer, which must stop the answer and bring the prompt back
without leaving; thinking shown dimmed on a terminal.
Usage: chat_tty.py HEARTH MODEL TMPDIR THINK_TEMPLATE"""
import json
import os
import pty
import select
import sys
import time

hearth, model, tmp, think_template = sys.argv[1:5]


def fail(msg, buf=b""):
    print("FAIL: " + msg)
    if buf:
        print("terminal output:", buf[-2000:].decode("utf-8", "replace"))
    sys.exit(1)


class Term:
    def __init__(self, *args):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execv(hearth, [hearth, "chat", "-m", model, "--temp", "0", "-t", "2", "-c", "4096", *args])
        self.buf = b""

    def read_until(self, pred, timeout, what):
        end = time.time() + timeout
        while not pred(self.buf):
            left = end - time.time()
            if left <= 0:
                fail("timed out waiting for " + what, self.buf)
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:  # EIO once the child has gone
                    data = b""
                if not data:
                    fail("hearth chat ended while waiting for " + what, self.buf)
                self.buf += data

    def send(self, s):
        # libedit may flush pending input when it takes the terminal after
        # printing the prompt: give it that moment before typing.
        time.sleep(0.3)
        os.write(self.fd, s.encode())

    # A fresh prompt follows a newline; libedit's redraws start with a carriage return.
    def wait_prompt(self, n, timeout, what):
        self.read_until(lambda b: b.count(b"\n> ") >= n, timeout, what)

    def close(self, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            try:
                r, _, _ = select.select([self.fd], [], [], 0.2)
                if r:
                    self.buf += os.read(self.fd, 4096)
            except OSError:
                pass
        os.kill(self.pid, 9)
        fail("hearth chat did not exit", self.buf)


# 1. Ctrl-C in the middle of a long answer: the answer stops, the prompt comes back.
t = Term("-n", "3000")
t.wait_prompt(1, 60, "the first prompt")
t.send("Tell me a long story\r")
# Wait until the answer is streaming: bytes after the last echo of the line (it may
# be echoed twice when it arrives before libedit has the terminal).
t.read_until(lambda b: b.count(b"long story") and len(b) - b.rindex(b"long story") > 40, 60, "streamed answer text")
t.send("\x03")
t0 = time.time()
t.read_until(lambda b: b"answer stopped (Ctrl-C)" in b, 20, "the answer to stop")
t.wait_prompt(2, 20, "the prompt after Ctrl-C")
stop_s = time.time() - t0
t.send("/stats\r")
t.wait_prompt(3, 20, "the prompt after /stats")
stats = t.buf[t.buf.rindex(b"context:"):].split(b"\n")[0].decode()
t.send("/save " + tmp + "/int.json\r")
t.wait_prompt(4, 20, "the prompt after /save")
t.send("/exit\r")
rc = t.close()
if rc != 0:
    fail("exit status %d after Ctrl-C" % rc, t.buf)
conv = json.load(open(tmp + "/int.json"))
if [m["role"] for m in conv] != ["user", "assistant"]:
    fail("conversation after Ctrl-C: " + json.dumps(conv))
n_answer = int(stats.split("answer ")[1].split(" ")[0])
if not 1 <= n_answer < 3000:
    fail("the interrupted answer has %d tokens: %s" % (n_answer, stats))
print("tty: Ctrl-C stopped the answer after %d tokens; prompt back in %.2f s" % (n_answer, stop_s))

# 2. Line editing, history and continuation lines.
t = Term("-n", "2")
t.wait_prompt(1, 60, "the first prompt")
t.send("helxo\x7f\x7flo\r")        # backspace twice: "hello"
t.wait_prompt(2, 60, "the prompt after the first answer")
t.send("\x1b[A\r")                  # up arrow: "hello" again from the history
t.wait_prompt(3, 60, "the prompt after the recalled line")
t.send("first line\\\rsecond line\r")  # a trailing backslash continues the message
t.wait_prompt(4, 60, "the prompt after the two-line message")
t.send("/save " + tmp + "/edit.json\r")
t.wait_prompt(5, 20, "the prompt after /save")
t.send("\x04")                      # Ctrl-D leaves
rc = t.close()
if rc != 0:
    fail("exit status %d after Ctrl-D" % rc, t.buf)
conv = json.load(open(tmp + "/edit.json"))
users = [m["content"] for m in conv if m["role"] == "user"]
if users != ["hello", "hello", "first line\nsecond line"]:
    fail("user messages typed on the terminal: " + json.dumps(users), t.buf)
print("tty: editing, history and continuation lines ok")

# 3. A template that opens <think>: the answer is thinking, dimmed (SGR 2) then reset.
t = Term("-n", "3", "--chat-template", think_template)
t.wait_prompt(1, 60, "the first prompt")
t.send("Hi\r")
t.wait_prompt(2, 60, "the prompt after the answer")
t.send("\x04")
if t.close() != 0:
    fail("exit status after Ctrl-D", t.buf)
ans = t.buf[t.buf.index(b"Hi\r\n") + 4:]
if not (ans.startswith(b"\x1b[2m") and b"\x1b[0m\r\n> " in ans and len(ans.split(b"\x1b[0m")[0]) > 4):
    fail("thinking not dimmed", t.buf)
hide = Term("-n", "3", "--chat-template", think_template, "--think", "hide")
hide.wait_prompt(1, 60, "the first prompt")
hide.send("Hi\r")
hide.wait_prompt(2, 60, "the prompt after the answer")
hide.send("\x04")
if hide.close() != 0:
    fail("exit status after Ctrl-D", hide.buf)
if not hide.buf.split(b"Hi\r\n", 1)[1].startswith(b"\r\n> "):
    fail("--think hide printed the thinking", hide.buf)
print("tty: thinking dimmed, or hidden with --think hide")
