# -*- coding: utf-8 -*-
# Metadata lives in pyproject.toml; this shim keeps `pip install -e .` working with older tooling
# and wires Babel's message extractors, as the CKAN cookiecutter does.
from setuptools import setup

setup(
    message_extractors={
        "ckanext": [
            ("**.py", "python", None),
            ("**.js", "javascript", None),
            ("**/templates/**.html", "ckan", None),
        ],
    },
)
