"""Flask CLI: `flask roles sync`, `flask demo seed`, `flask stats rebuild | refresh`."""
import click
from flask import current_app
from flask.cli import AppGroup

roles_cli = AppGroup("roles", help="角色与权限")
demo_cli = AppGroup("demo", help="演示数据")
stats_cli = AppGroup("stats", help="统计汇总")


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


@stats_cli.command("rebuild")
def stats_rebuild():
    """Recompute the statistics summary from the base tables and say what it changed."""
    from .summary import rebuild

    changed = rebuild()
    click.echo(f"statistics summary rebuilt: {changed['cells']} cells, {changed['graduates']} graduates and "
               f"{changed['days']} day counts changed")


@stats_cli.command("refresh")
def stats_refresh():
    """Apply the summary's change log now (the cron does it every 20 s)."""
    from .summary import refresh_all

    students, events = refresh_all()
    click.echo(f"statistics summary refreshed: {students} graduates recomputed, {events} events counted")


def register_cli(app):
    app.cli.add_command(roles_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(stats_cli)
