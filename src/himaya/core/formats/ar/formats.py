"""Number formats for Arabic pages, as written in Morocco.

Django's own Arabic formats give separators but no ``NUMBER_GROUPING``, so a number asked to
be grouped (``floatformat:"0g"``: the women counted on the coverage pages) came out as
``12345`` in Arabic and ``12 345`` in French. Moroccan usage with Western digits groups by
three with a dot and writes decimals with a comma (CLDR ``ar-MA``). Everything else (dates,
month names) comes from Django's Arabic formats.

``USE_THOUSAND_SEPARATOR`` stays off on purpose: it would also group numbers put in form
inputs and hidden fields (ids, ages, years), which then no longer read back.
"""

DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "."
NUMBER_GROUPING = 3

# Dates and times as written in Morocco: day first, 24-hour clock. Django's Arabic dates
# already put the day first ("15 يناير، 2026"), but its date-with-time puts the month first
# with a 12-hour clock ("نوفمبر 30, 2026, 5:04 ص").
DATETIME_FORMAT = "j F، Y، H:i"
TIME_FORMAT = "H:i"
