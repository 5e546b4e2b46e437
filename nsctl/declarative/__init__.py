"""Declarative topics and groups: the file that says what the brokers of a cluster should hold
(`spec`: the model and its TOML/JSON parser), and the difference between that and what they
hold (`diff`: the plan, the disagreements between brokers, and the export). Pure: no sockets;
the CLI (`plan`, `apply`, `export`) and the library read the brokers and hand their tables in.
"""
