#!/usr/bin/env bash
# Builds the small database the query and MCP end-to-end tests read:
# make-db.sh COLLECTOR FIXTURE_NODE DB. The collector creates the schema
# with one baseline reading on 2026-01-01; SQL then adds node-q with 24
# hourly intervals on 2026-03-10 (KST) of 100 W, of which idle is 20 W
# and the pods draw 67 W:
#   web/nginx-light-7d9c8b5f4-x2x7k 30 W, web/nginx-light-7d9c8b5f4-q8w9z
#   10 W, data/db-0 20 W, batch/backup-29012345-bcd2f 5 W,
#   kube-system/fluentd-x7k2p 2 W.
set -euo pipefail
collector=$1 node=$2 db=$3

"$collector" --db "$db" --once --timestamp 2026-01-01T00:00:00Z \
        --sysfs "$node/sys" --procfs "$node/proc" \
        --cgroupfs "$node/sys/fs/cgroup" --pod-logs "$node/var/log/pods" \
        --node-name node-base 2>/dev/null

# 2026-03-10 00:00 KST is 2026-03-09T15:00:00Z = 1773068400 s.
sqlite3 "$db" <<'SQL'
BEGIN;
INSERT INTO node (name) VALUES ('node-q');
CREATE TEMP TABLE p (uid TEXT, ns TEXT, name TEXT, watts INTEGER);
INSERT INTO p VALUES
  ('e2e-1', 'web', 'nginx-light-7d9c8b5f4-x2x7k', 30),
  ('e2e-2', 'web', 'nginx-light-7d9c8b5f4-q8w9z', 10),
  ('e2e-3', 'data', 'db-0', 20),
  ('e2e-4', 'batch', 'backup-29012345-bcd2f', 5),
  ('e2e-5', 'kube-system', 'fluentd-x7k2p', 2);
INSERT INTO pod (node_id, uid, namespace, name)
  SELECT n.node_id, p.uid, p.ns, p.name FROM p, node n WHERE n.name = 'node-q';
WITH RECURSIVE h(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM h WHERE i < 23)
INSERT INTO sample (node_id, boot_id, start_ns, end_ns, status, method,
                    cpu_total_ticks, cpu_idle_ticks, clock_ticks_hz,
                    cpu_total_us, cpu_idle_us, pods_cpu_us, energy_uj,
                    idle_uj, system_uj, pods_uj)
  SELECT n.node_id, 'e2e', (1773068400 + i * 3600) * 1000000000,
         (1773068400 + (i + 1) * 3600) * 1000000000, 'ok', 'measured',
         0, 0, 100, 3600000000, 720000000, 2412000000,
         360000000000, 72000000000, 46800000000, 241200000000
  FROM h, node n WHERE n.name = 'node-q';
INSERT INTO pod_sample (sample_id, pod_id, cpu_usage_us, cpu_us, energy_uj)
  SELECT s.sample_id, pod.pod_id, 0, 36000000, p.watts * 3600000000
  FROM sample s JOIN node n ON n.node_id = s.node_id AND n.name = 'node-q'
  JOIN pod ON pod.node_id = n.node_id JOIN p ON p.uid = pod.uid;
COMMIT;
SQL
