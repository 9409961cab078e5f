"""`giaoban demo`: the real service against emulated routers, codecs and a portal on loopback.

Floor: the top, with the command line.
"""
