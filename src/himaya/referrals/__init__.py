"""Referrals: district focal point → unit, unit → services; deadlines, consent scopes."""
