"""Login and logout (flask-login), and each user's language."""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user

from engine import users
from engine.models import User
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

    def get_id(self) -> str:
        return self.username

    @classmethod
    def of(cls, user: User) -> "Account":
        return cls(user.username, user.display_name, frozenset(user.role_keys), user.locale or "zh_CN")

    def has_role(self, role: str) -> bool:
        return role in self.roles


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    @login_manager.user_loader
    def load(username: str):
        with reading() as session:
            try:
                return Account.of(users.get_user(session, username))
            except users.UnknownUser:
                return None


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


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        with reading() as session:
            user = users.authenticate(session, request.form.get("username", ""), request.form.get("password", ""))
            account = Account.of(user) if user else None
        if account is None:
            flash(_("Wrong user name or password."), "error")
            return render_template("auth/login.html"), 401
        login_user(account)
        target = request.args.get("next", "")
        return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("inbox.index"))
    return render_template("auth/login.html")


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


@bp.post("/language")
@login_required
def language():
    locale = request.form.get("locale", "")
    if locale not in LOCALES:
        abort(400)
    run(users.set_locale, current_user.username, locale)
    return redirect(request.referrer if (request.referrer or "").startswith(request.host_url)
                    else url_for("inbox.index"))
