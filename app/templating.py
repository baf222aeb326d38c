"""Jinja filters and globals: every screen formats codes, dates and money the same way."""
from . import identity, labels, regions
from .assets import asset_url
from .roles import ROLE_STUDENT
from .security import role_of
from .views.grid import search_boxes
from .views.menus import breadcrumb, mobile_tabs, portal_menu


def lean_assets():
    """Student and anonymous pages (the ones graduates open on a phone, issue 25) load Bootstrap's
    CSS and JS, jQuery and ours: none of FAB's grid, datepicker, select2, font and flag files,
    which only the school's, employer's and admin's FAB pages use. A student page that needs
    select2 loads it itself."""
    return role_of() in (None, ROLE_STUDENT)


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
        mobile_tabs=mobile_tabs,
        asset_url=asset_url,
        lean_assets=lean_assets,
        breadcrumb=breadcrumb,
        site_identity=identity.current,
        grid_search_boxes=search_boxes,
    )
