"""nsctl: admin tool, client library and embedded server for Apache RocketMQ NameServers."""

__version__ = "0.1.0"
