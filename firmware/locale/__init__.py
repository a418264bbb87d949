"""The wearer's languages: gettext catalogues (``LANG/LC_MESSAGES/fieldcheck.po``) by message id."""
