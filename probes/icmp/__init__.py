"""ICMP echo rounds: the probe, the process's one pinger, the mode decided at start, link quality (MOS)."""
