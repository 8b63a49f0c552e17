"""Build hook: ship the content and the migrations inside the wheel.

All metadata lives in pyproject.toml; this file only says which files go where, because
that part cannot be written declaratively there: ``[tool.setuptools.packages.find]``
cannot add packages from outside the package tree, and an explicit package list would
have to repeat every sub-package of ``bot/``.

The content folders stay at the top of the checkout (policy_texts/, intents/,
templates/), where editors and admins work on them. ``package_dir`` maps each one into
the package as ``bot/_content/<folder>/`` of the wheel, so an installed ``sanliang``
finds its content beside its code (``bot.config.bundled_content``) and needs no
checkout. Nothing is copied in the source tree; the mapping is setuptools' own.
"""

from setuptools import find_packages, setup

CONTENT_FOLDERS = ("policy_texts", "intents", "templates")
CONTENT_PACKAGE = "bot._content"

setup(
    packages=[
        *find_packages(include=["bot", "bot.*"]),
        *(f"{CONTENT_PACKAGE}.{folder}" for folder in CONTENT_FOLDERS),
    ],
    package_dir={f"{CONTENT_PACKAGE}.{folder}": folder for folder in CONTENT_FOLDERS},
    package_data={
        "bot.store.migrations": ["sqlite/*.sql", "postgresql/*.sql"],
        "bot.web": ["static/*"],
        **{f"{CONTENT_PACKAGE}.{folder}": ["**/*"] for folder in CONTENT_FOLDERS},
    },
    include_package_data=False,
)
