"""The SQL adapters of the storage port: PostgreSQL (psycopg 3) and MySQL / MariaDB / TDSQL-C (PyMySQL).

One base class (`base.SqlStorage`) holds every query; each dialect module supplies its driver, its error
classification, insert-if-absent and its migration lock. Nothing here imports a driver: the dialect module does,
and the factory imports only the module the STORAGE_URL names.
"""
