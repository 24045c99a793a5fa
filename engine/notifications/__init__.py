"""Notifications: who is told what, when a task is ready, a deadline nears or passes, a case escalates.

events.py       hooks that turn a case's changes into announcements (same transaction)
outbox.py       writes one row per recipient and channel; quiet hours and digest timing
near_deadlines  the indexed warning-time schedule and its sweep
sender.py       delivers mail and webhook rows at least once, with retry and backoff
channels.py     SMTP and signed JSON webhooks (PlanFlow, WeCom, DingTalk, Feishu)
templates.py    the words, in Chinese and English
preferences.py  per-user events, channels, quiet hours, daily digest
in_app.py       the bell: unread count, list, mark read
webhooks.py     add, list and remove outgoing webhooks
worker.py       the worker's notification step
"""
