"""Create the database named by DATABASE_URL if it does not exist (PostgreSQL only)."""

import os
import sys

import environ
import psycopg
from psycopg import sql

config = environ.Env.db_url_config(os.environ["DATABASE_URL"])
if config["ENGINE"] != "django.db.backends.postgresql":
    sys.exit(0)
params = {"host": config.get("HOST") or None, "port": config.get("PORT") or None, "user": config.get("USER") or None,
          "password": config.get("PASSWORD") or None, "dbname": "postgres"}  # fmt: skip
with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone():
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
        print(f"created database {config['NAME']}")
