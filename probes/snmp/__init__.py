"""SNMP polls of routers and UPSes: the probe, sessions on one engine, IF-MIB, UPS-MIB, rates, readings."""
