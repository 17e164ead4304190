"""`python -m dealersync`: the same as the `dealersync` command."""

from dealersync.cli import app

if __name__ == "__main__":  # worker processes import this module again; only the command runs the CLI
    app(prog_name="dealersync")
