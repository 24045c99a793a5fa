"""Who may see a complainant's identity and contact (PLANS.md, "Confidentiality")."""
from __future__ import annotations

from engine.models import User

# Roles that work cases directly with the complainant; pr and security see masked values.
CONTACT_ROLES = frozenset({"intake", "handler", "dept_head", "legal", "office_director", "general_manager",
                           "leadership", "duty_officer"})


def may_see_contact(user: User) -> bool:
    return bool(user.role_keys & CONTACT_ROLES)


def mask_name(name: str | None) -> str | None:
    """王女士 → 王**; keeps the first character only."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_contact(contact: str | None) -> str | None:
    """13800001234 → 138****1234; short values are masked whole."""
    if not contact:
        return contact
    if len(contact) < 7:
        return "*" * len(contact)
    return contact[:3] + "*" * (len(contact) - 7) + contact[-4:]


def shown(key: str, value, visible: bool):
    """A case-data value as a viewer may see it: identity fields masked unless `visible`."""
    if visible or not isinstance(value, str):
        return value
    if key == "complainant":
        return mask_name(value)
    if key == "contact":
        return mask_contact(value)
    return value


def shown_identity(case, visible: bool) -> tuple[str | None, str | None]:
    """The case's complainant and contact as a viewer may see them."""
    return shown("complainant", case.complainant, visible), shown("contact", case.contact, visible)


def redacted(value, case, visible: bool):
    """A case-data structure as a viewer may see it: identity fields masked, and the complainant's name
    and contact masked wherever else they appear in text (notes, file names, free-text answers)."""
    if visible:
        return value
    clear = [(text, shown(key, text, False)) for key, text in (("complainant", case.complainant),
                                                                ("contact", case.contact)) if text]
    clear.sort(key=lambda pair: -len(pair[0]))

    def walk(item, key=None):
        if isinstance(item, dict):
            return {k: walk(v, k) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        if isinstance(item, str):
            item = shown(key, item, False) if key else item
            for text, masked in clear:
                item = item.replace(text, masked)
        return item
    return walk(value)
