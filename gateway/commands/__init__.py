"""Subcommands of `callpulse` that grew beyond a few lines; gateway/cli.py parses and dispatches them all."""
