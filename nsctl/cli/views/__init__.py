"""Views: pure functions from the answers a command got to the one row model it shows.

The table, json and plain renderings of a command all read the same rows, so every figure is
computed once. Views import the protocol and client models and `cli.mqadmin`; never the
command wiring, the Target or the renderers.
"""
