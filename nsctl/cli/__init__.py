"""The `nsctl` command line: a thin layer over `nsctl.client` (and `nsctl.server` for serve)."""
