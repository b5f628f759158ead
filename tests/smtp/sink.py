"""A real SMTP server for keyward's tests (aiosmtpd, from Debian's python3-aiosmtpd): it accepts every
message on 127.0.0.1:PORT and writes each, parsed, as one JSON file in DIR, named in arrival order.

    python3 tests/smtp/sink.py PORT DIR
"""
import email
import json
import os
import sys
import threading
from email import policy

from aiosmtpd.controller import Controller


class Store:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(message["subject"] or ""),
            "message_id": str(message["message-id"] or ""),
            "text": text.get_content() if text else "",
            "html": html.get_content() if html else "",
            "raw": envelope.content.decode("utf-8", "replace"),
        }
        with self.lock:
            self.count += 1
            path = os.path.join(self.directory, f"{self.count:05d}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Store(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
