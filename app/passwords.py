"""The password rule every login obeys, and the hash FAB's login checks.

One rule whether the password is typed in a form (FAB_PASSWORD_COMPLEXITY_VALIDATOR =
`password_validator`), chosen at 修改密码, set by code (`app.accounts.new_login`, FAB's add_user
through `AppSecurityManager`) or derived by the roster import's initial-password rule. Nothing
here imports Flask at module level: the rule is plain Python.
"""
import re

PASSWORD_RULE = "密码至少8位，且须同时包含大写字母、小写字母和数字"


def password_problem(password):
    """The rule's refusal (PASSWORD_RULE) for a weak password, else None."""
    if (not password or len(password) < 8 or not re.search(r"[a-z]", password)
            or not re.search(r"[A-Z]", password) or not re.search(r"\d", password)):
        return PASSWORD_RULE
    return None


def password_hash(password):
    """The hash FAB's login checks, with the configured method (tests use a fast one)."""
    from flask import current_app
    from werkzeug.security import generate_password_hash

    return generate_password_hash(
        password, method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
        salt_length=current_app.config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16))


def password_validator(password):
    """FAB_PASSWORD_COMPLEXITY_VALIDATOR (forms): raises wtforms' ValidationError."""
    from wtforms.validators import ValidationError

    problem = password_problem(password)
    if problem:
        raise ValidationError(problem)
