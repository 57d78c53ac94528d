"""WSGI entry point for a production server (gunicorn, uwsgi); CKAN_INI names the configuration file.

    CKAN_INI=/etc/ckan/ckan.ini gunicorn --workers 2 --bind 127.0.0.1:5000 --chdir deploy wsgi:application
"""
from __future__ import annotations

import os

from ckan.cli import load_config
from ckan.config.middleware import make_app

if not os.environ.get("CKAN_INI"):
    raise RuntimeError("set CKAN_INI to the path of the CKAN configuration file")

application = make_app(load_config(os.environ["CKAN_INI"]))
