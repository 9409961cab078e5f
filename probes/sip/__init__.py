"""SIP OPTIONS (RFC 3261): the probe and its messages."""
