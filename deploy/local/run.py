"""`make run`: the four services (install, econ-auth, status, sync) and the sandbox on their
ports, until Ctrl-C; it prints each one's URL and log. With KOBLING_CLUSTER=1, two instances of
each service behind a balancer on its port.

The process handling is the test suite's own (kobling_devkit.stack), so the demo runs the system
exactly as the tests do.
"""

import os
import signal
import sys

from kobling_devkit.stack import SERVICES, cluster, start, stop_all, wait_ready


def main() -> None:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        "MONGODB_URL": os.environ.get("MONGODB_URL", "mongodb://127.0.0.1:27017"),
    }
    several = os.environ.get("KOBLING_CLUSTER") == "1"
    services = list((cluster() if several else SERVICES).values())
    try:
        for service in services:
            start(service, env)
        for service in services:
            wait_ready(service)
            print(f"  {service.name:<10} {service.url}  (log: {service.log_path})")
        print("\nKobling is running. Start the merchant's journey at:\n")
        print(f"    {SERVICES['sandbox'].url}/\n")
        stop = "KOBLING_CLUSTER=1 make infra-stop" if several else "make infra-stop"
        print(f"Ctrl-C stops the services (Kafka and FerretDB keep running: `{stop}`).")
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        stop_all(services)


if __name__ == "__main__":
    main()
