"""Login and logout (flask-login), and each user's language."""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user

from engine.calendar.clock import utcnow
from engine.models import User
from engine.people import logins, users
from webapp.db import reading, run

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
LOCALES = ("zh_CN", "en")


@dataclass
class Account(UserMixin):
    """The signed-in user as the web layer needs it (no live database object)."""

    username: str
    display_name: str
    roles: frozenset[str]
    locale: str
    session_version: int = 0

    def get_id(self) -> str:
        # The session carries the user's session version: logout, a password change or a role
        # removal bumps it in the database, and every cookie signed with the old one stops working.
        return f"{self.username}:{self.session_version}"

    @classmethod
    def of(cls, user: User) -> "Account":
        return cls(user.username, user.display_name, frozenset(user.role_keys), user.locale or "zh_CN",
                   user.session_version or 0)

    def has_role(self, role: str) -> bool:
        return role in self.roles


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    @login_manager.user_loader
    def load(session_id: str):
        username, _, version = session_id.rpartition(":")
        with reading() as session:
            try:
                account = Account.of(users.get_user(session, username))
            except users.UnknownUser:
                return None
        return account if str(account.session_version) == version else None


def role_required(*roles: str):
    """Allow the view only to users holding one of `roles` (403 otherwise)."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not current_user.roles & set(roles):
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorator


def local_target(target: str) -> str | None:
    """`target` if it is surely a path on this site, else None.

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so a
    target holding any of them could turn into the network path `//other.site`: refuse it.
    """
    if any(ord(c) < 0x20 or c in "\x7f\\" for c in target) or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def _sign_in() -> Account | None:
    """The account for the posted user name and password; None when wrong (the failure is counted)."""
    user = run(logins.sign_in, request.form.get("username", ""), request.form.get("password", ""),
               request.remote_addr or "", utcnow())
    return Account.of(user) if user else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        try:
            account = _sign_in()
        except logins.LoginThrottled as throttled:
            flash(_("Too many wrong passwords: wait %(minutes)d minute(s) and try again.",
                    minutes=max(1, -(-throttled.retry_after // 60))), "error")
            return render_template("auth/login.html"), 429, {"Retry-After": str(throttled.retry_after)}
        except logins.AccountLocked:
            flash(_("This account is locked after too many wrong passwords; ask an administrator to unlock it."),
                  "error")
            return render_template("auth/login.html"), 403
        if account is None:
            flash(_("Wrong user name or password."), "error")
            return render_template("auth/login.html"), 401
        login_user(account)
        return redirect(local_target(request.args.get("next", "")) or url_for("inbox.index"))
    return render_template("auth/login.html")


@bp.post("/logout")
@login_required
def logout():
    run(users.end_sessions, current_user.username)
    logout_user()
    return redirect(url_for("auth.login"))


LOCALE_COOKIE = "planflow_locale"


@bp.post("/language")
def language():
    """Switch the language: remembered on the user, and in a cookie for the login page."""
    locale = request.form.get("locale", "")
    if locale not in LOCALES:
        abort(400)
    if current_user.is_authenticated:
        run(users.set_locale, current_user.username, locale)
    response = redirect(request.referrer if (request.referrer or "").startswith(request.host_url)
                        else url_for("inbox.index"))
    response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response
