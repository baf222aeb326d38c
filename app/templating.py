"""Jinja filters and globals: every screen formats codes, dates and money the same way."""
from . import identity, labels, regions
from .views.grid import search_boxes
from .views.menus import breadcrumb, portal_menu


def register_template_helpers(app):
    app.jinja_env.filters.update(
        date=labels.fmt_date,
        datetime=labels.fmt_datetime,
        money=labels.fmt_money,
        clause=labels.clause,
        mask_id=labels.mask_id,
        browser=labels.browser_of,
        mask_phone=labels.mask_phone,
        mask_email=labels.mask_email,
        region=regions.full_name,
    )
    app.jinja_env.globals.update(
        L=labels,
        regions=regions,
        job_options=[(c, c) for c in labels.JOB_CATEGORY],
        portal_menu=portal_menu,
        breadcrumb=breadcrumb,
        site_identity=identity.current,
        grid_search_boxes=search_boxes,
    )
