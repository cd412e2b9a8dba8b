"""The edge: everything that moves bytes or calls a foreign library.

HTTP clients and the request exchange, WebSocket chat, the tokenizer, VU authentication and
the AWS clients. Every foreign exception is mapped here, once, to an ``ErrorKind``.
"""
