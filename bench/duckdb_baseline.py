"""The baseline of compute.py, measured on this machine: DuckDB reading the same JSON Lines
file, keeping the latest version of each record and computing the figures the reports
rest on (first-response and response-time medians per local day, counts per day, the
conversations heatmap, the per-owner call table).

Issue 11 gave ~0.7 s for this on the machine it was measured on; machines here differ by
20 % from day to day, so compare compute.py with this script run on the same machine.
DuckDB is not a dependency of mediana (nothing ships it); run this with it added:
  .venv-uv/bin/uv run --no-project --with duckdb --python .venv/bin/python \
      bench/duckdb_baseline.py FILE [threads]
threads: 1 by default, as the aggregator computes on one core (2 changes little here).
The last line is `duckdb_seconds=S`: the best of three runs, each from the file.
"""

from __future__ import annotations

import sys
import time

import duckdb

THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 1

QUERY = """
CREATE OR REPLACE TEMP TABLE raw AS
  SELECT * FROM read_json('{path}', format = 'newline_delimited', union_by_name = true,
                          columns = {{kind: 'VARCHAR', id: 'VARCHAR', updated_at: 'TIMESTAMPTZ',
                            created_at: 'TIMESTAMPTZ', closed_at: 'TIMESTAMPTZ', occurred_at: 'TIMESTAMPTZ',
                            origin: 'VARCHAR', entry_group_id: 'VARCHAR', group_id: 'VARCHAR',
                            owner_id: 'VARCHAR', contact_id: 'VARCHAR', conversation_id: 'VARCHAR',
                            channel: 'VARCHAR', direction: 'VARCHAR', author_type: 'VARCHAR',
                            author_id: 'VARCHAR', type: 'VARCHAR', call_type: 'VARCHAR',
                            outcome: 'VARCHAR', duration_seconds: 'DOUBLE', timezone: 'VARCHAR'}});
CREATE OR REPLACE TEMP TABLE latest AS
  SELECT * FROM raw QUALIFY row_number() OVER (PARTITION BY kind, id ORDER BY updated_at DESC) = 1;
SET TimeZone = '{tz}';
CREATE OR REPLACE TEMP TABLE contacts AS SELECT * FROM latest WHERE kind = 'contact';
CREATE OR REPLACE TEMP TABLE convs AS SELECT * FROM latest WHERE kind = 'conversation';
CREATE OR REPLACE TEMP TABLE msgs AS
  SELECT m.*, c.contact_id AS cid, c.channel AS ch FROM latest m
  JOIN convs c ON c.id = m.conversation_id WHERE m.kind = 'message';
CREATE OR REPLACE TEMP TABLE calls AS
  SELECT * FROM latest WHERE kind = 'interaction' AND type = 'call_log';
"""

FIGURES = {
    "first response median per day": """
      WITH first AS (
        SELECT cid, min(t) AS t FROM (
          SELECT cid, created_at AS t FROM msgs WHERE author_type = 'advisor'
          UNION ALL SELECT contact_id, occurred_at FROM calls
            WHERE owner_id IS NOT NULL AND outcome IN ('answered', 'rejected')) GROUP BY cid)
      SELECT created_at::DATE AS day, coalesce(origin, 'unknown') AS origin, count(*) AS n,
             median(greatest(epoch(f.t) - epoch(c.created_at), 0)) AS frt
      FROM contacts c LEFT JOIN first f ON f.cid = c.id GROUP BY ALL""",
    "response time median per day": """
      WITH rel AS (
        SELECT conversation_id AS vid, created_at, author_id, ch, author_type = 'advisor' AS reply,
               sum((author_type = 'advisor')::INT) OVER (PARTITION BY conversation_id ORDER BY created_at, id
                 ROWS UNBOUNDED PRECEDING) - (author_type = 'advisor')::INT AS seg
        FROM msgs WHERE direction = 'inbound' OR author_type = 'advisor'),
      starts AS (SELECT vid, seg, min(created_at) AS s FROM rel WHERE NOT reply GROUP BY ALL)
      SELECT r.created_at::DATE AS day, ch, author_id,
             median(greatest(epoch(r.created_at) - epoch(s.s), 0)) AS rt, count(*) AS n
      FROM rel r JOIN starts s USING (vid, seg) WHERE r.reply GROUP BY ALL""",
    "conversations per day and heatmap": """
      SELECT created_at::DATE AS day, hour(created_at) AS h, dayofweek(created_at) AS dow, channel,
             owner_id, count(*) AS n, count(closed_at) AS closed FROM convs GROUP BY ALL""",
    "per-owner call table": """
      SELECT owner_id, call_type, outcome, count(*) AS n, sum(duration_seconds) AS secs,
             count(DISTINCT contact_id) AS contacts FROM calls GROUP BY ALL""",
}


def run(path: str) -> tuple[float, dict[str, int]]:
    start = time.perf_counter()
    con = duckdb.connect(config={"threads": THREADS})
    tz = con.execute(
        f"SELECT coalesce(max(timezone), 'UTC') FROM read_json('{path}', format = 'newline_delimited', "
        "columns = {kind: 'VARCHAR', timezone: 'VARCHAR'}) WHERE kind = 'tenant'"
    ).fetchone()[0]  # type: ignore[index]
    con.execute(QUERY.format(path=path, tz=tz))
    rows = {name: len(con.execute(sql).fetchall()) for name, sql in FIGURES.items()}
    return time.perf_counter() - start, rows


def main() -> None:
    path = sys.argv[1]
    runs = [run(path) for _ in range(3)]
    for name, n in runs[0][1].items():
        print(f"{name:<38}{n:>8} rows")
    print("runs: " + ", ".join(f"{s:.2f} s" for s, _ in runs))
    print(f"duckdb_seconds={min(s for s, _ in runs):.2f}")


if __name__ == "__main__":
    main()
