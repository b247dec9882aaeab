"""``python -m cluster`` (``make run-cluster``): the local cluster in the foreground; Ctrl-C stops it.

    CLUSTER_PORT=8080 CLUSTER_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/xiaoshou_cluster
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from cluster.local import ROOT, ClusterConfig, LocalCluster

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/xiaoshou_cluster"


def main() -> int:
    port = os.environ.get("CLUSTER_PORT", "8080")
    if not port.isdigit() or not 0 < int(port) < 65536:
        print(f"error: CLUSTER_PORT must be a port number, got {port!r}", file=sys.stderr)
        return 2
    config = ClusterConfig(var=Path(os.environ.get("CLUSTER_VAR", ROOT / "var" / "cluster")),
                           database_url=os.environ.get("CLUSTER_DATABASE_URL", DEFAULT_DATABASE_URL),
                           front_port=int(port))
    cluster = LocalCluster(config)
    print(f"starting 2 Rasa, 2 action servers, 2 service instances behind nginx "
          f"(logs in {config.var}); Rasa needs a minute to load its model …", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        cluster.start()
        print(f"\n  web chat   {cluster.url}/chat\n  console    {cluster.url}/console\n"
              f"  ready      {cluster.url}/readyz\n  processes  {cluster.pids()}\n"
              f"  Ctrl-C stops everything.\n", flush=True)
        signal.pause()
    except KeyboardInterrupt:
        pass
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        # Members run in sessions of their own (Ctrl-C does not reach them): an impatient second
        # Ctrl-C must not leave half of them running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
