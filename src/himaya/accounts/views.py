"""Login placeholder: replaced by the accounts work (password, TOTP, lockout)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def login_view(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html")
