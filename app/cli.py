"""Flask CLI: `flask roles sync`, `flask demo seed`."""
import click
from flask import current_app
from flask.cli import AppGroup

roles_cli = AppGroup("roles", help="角色与权限")
demo_cli = AppGroup("demo", help="演示数据")


@roles_cli.command("sync")
def roles_sync():
    """Create the five roles and their permissions (idempotent)."""
    from .security import sync_roles

    sync_roles(current_app.appbuilder)
    click.echo("roles synced")


@demo_cli.command("seed")
def demo_seed():
    """Load the demo world of DESIGN.md §8 (idempotent) and print the logins."""
    from .demo import print_accounts, seed

    seed()
    print_accounts()


def register_cli(app):
    app.cli.add_command(roles_cli)
    app.cli.add_command(demo_cli)
