"""联盟标识 (issue 18 item 7): the name and logo of the alliance that runs the system, shown in the
header of every page and on the login page. A province (or an administrator) sets them; until then
the default name and no logo.

Every page reads it, so `current()` is remembered per process for IDENTITY_CACHE_SECONDS (a change
made in this process is seen at once; other processes within that many seconds)."""
from dataclasses import dataclass

from . import caching, uploads
from .extensions import db
from .models import SiteIdentity, utcnow

DEFAULT_NAME = "湖北高校就业网络联盟"
NAME_MAX = 40
CACHE = "site_identity"


class IdentityError(ValueError):
    pass


@dataclass(frozen=True)
class Identity:
    name: str
    logo_path: str | None
    version: str  # changes with every save: the logo's URL changes with it


def _load():
    row = db.session.get(SiteIdentity, 1)
    if row is None:
        return Identity(DEFAULT_NAME, None, "0")
    return Identity(row.alliance_name, row.logo_path, row.updated_at.strftime("%Y%m%d%H%M%S%f"))


def current():
    return caching.remembered(CACHE, "IDENTITY_CACHE_SECONDS", 60, "identity", _load, maxsize=1)


def update(actor, name, logo=None, remove_logo=False):
    """Save the name and, when given, a new logo (an `uploads.Upload`, already checked and
    re-encoded) or no logo (`remove_logo`). The replaced file is deleted after the commit."""
    name = " ".join((name or "").split())
    if not name:
        raise IdentityError("请填写联盟名称")
    if len(name) > NAME_MAX:
        raise IdentityError(f"联盟名称不能超过{NAME_MAX}个字")
    row = db.session.get(SiteIdentity, 1) or SiteIdentity(id=1)
    old_logo = row.logo_path
    new_key = uploads.save(logo, folder="identity") if logo is not None else None
    try:
        row.alliance_name = name
        if new_key:
            row.logo_path = new_key
        elif remove_logo:
            row.logo_path = None
        row.updated_at, row.updated_by_id = utcnow(), getattr(actor, "id", None)
        db.session.add(row)
        db.session.commit()
    except Exception:
        db.session.rollback()
        uploads.discard(new_key)
        raise
    if old_logo and old_logo != row.logo_path:
        uploads.discard(old_logo)
    caching.forget(CACHE)
    return row
