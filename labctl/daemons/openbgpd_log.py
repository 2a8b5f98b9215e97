"""bgpd's log, timestamped: labctl runs OpenBGPD in the foreground (`bgpd -d`) with its log piped
through this script into /var/log/bgpd.log, as the lab nodes have no syslog daemon.

Run on the lab node (labctl renders it to /etc/labctl/bgpd-log.py): `bgpd -d 2>&1 | python3
bgpd-log.py /var/log/bgpd.log`. Each line gets the UTC time it was read with microseconds
("2026-12-01 23:10:04.123456 neighbor ..."), the clock every lab node shares, which labctl's
convergence observers compare across nodes. Standard library only.
"""

import sys
from datetime import datetime, timezone


def main() -> None:
    path = sys.argv[1]
    stream = sys.stdin.buffer
    with open(path, "ab", buffering=0) as out:
        while True:
            line = stream.readline()
            if not line:
                break
            stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f ").encode()
            out.write(stamp + line if line.endswith(b"\n") else stamp + line + b"\n")


if __name__ == "__main__":
    main()
