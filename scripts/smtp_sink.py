"""Local SMTP sink for development: saves each message as DIR/<timestamp>-<n>.eml.

Nothing is relayed. Usage: smtp_sink.py [--host H] [--port P] [--dir var/mail]
"""

import argparse
import itertools
import logging
import signal
import time
from pathlib import Path

from aiosmtpd.controller import Controller

_logger = logging.getLogger("smtp_sink")


class EmlHandler:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        # Envelope headers first: Bcc recipients appear nowhere else.
        head = (
            f"X-MailFrom: {envelope.mail_from}\r\n"
            f"X-RcptTo: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        while True:
            path = self.directory / f"{stamp}-{next(self.counter):04d}.eml"
            try:
                with open(path, "xb") as eml:  # "x": never overwrite a message
                    eml.write(head + envelope.original_content)
                break
            except FileExistsError:
                continue
        _logger.info("%s -> %s: %s", envelope.mail_from, envelope.rcpt_tos, path)
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--dir", default="var/mail")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's SMTP chatter
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)

    controller = Controller(EmlHandler(directory), hostname=args.host, port=args.port)
    controller.start()
    _logger.info("listening on %s:%s, saving to %s/", args.host, args.port, directory)
    try:
        # Serve until SIGINT/SIGTERM (run.sh stops us with SIGTERM).
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        controller.stop()


if __name__ == "__main__":
    # Block the signals so that sigwait() receives them instead of a handler.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    main()
