"""Telegram adapter (python-telegram-bot 22): parse, authorise, render — no business logic."""
