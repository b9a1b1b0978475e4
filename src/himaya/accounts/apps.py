from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "himaya.accounts"
    label = "accounts"
