#!/usr/bin/env python3
"""Python Faker generating the rows of `auth.users` from examples/schema/shop.dbml
(id, unique e-mail, password hash, full name, status, created_at, updated_at >= created_at)
to CSV on one core, for comparison with `cargo bench -p watershed-datagen --bench gen`.

    python3 -m venv ~/.cache/watershed/faker-venv && ~/.cache/watershed/faker-venv/bin/pip install faker
    ~/.cache/watershed/faker-venv/bin/python scripts/bench/faker_users.py [ROWS]
"""
import csv
import datetime
import hashlib
import io
import random
import sys
import time

from faker import Faker


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    fake = Faker("en_US")
    Faker.seed(7)
    random.seed(7)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "email", "password_hash", "full_name", "status", "created_at", "updated_at"])
    start = datetime.datetime(2023, 1, 1)
    statuses = ["active", "invited", "suspended"]
    started = time.perf_counter()
    for i in range(1, rows + 1):
        first, last = fake.first_name(), fake.last_name()
        email = f"{first}.{last}.{i}@{fake.free_email_domain()}".lower()
        created = start + datetime.timedelta(seconds=random.randrange(0, 3 * 365 * 86400))
        updated = created + datetime.timedelta(seconds=random.randrange(0, 90 * 86400))
        writer.writerow([
            i,
            email,
            hashlib.sha256(f"{i}".encode()).hexdigest(),
            f"{first} {last}",
            random.choice(statuses),
            created.isoformat(sep=" "),
            updated.isoformat(sep=" "),
        ])
    elapsed = time.perf_counter() - started
    print(f"faker auth.users: {rows} rows in {elapsed:.2f} s = {rows / elapsed:,.0f} rows/s "
          f"({len(out.getvalue()) / 1e6:.1f} MB CSV)")


if __name__ == "__main__":
    main()
