"""The survivor portal: report or file a complaint online, follow it with a codename, leave
no trace on the phone."""
