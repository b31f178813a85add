"""A round-robin TCP balancer: one public port in front of several instances of a service.

    python deploy/local/balancer.py PORT BACKEND_PORT [BACKEND_PORT ...]

`KOBLING_CLUSTER=1 make run` and `make test-cluster` put one in front of each service's two
instances, so every merchant-facing URL is answered by either. It spreads connections, not
requests, as a Kubernetes Service does (kube-proxy balances at layer 4): an instance that dies
drops the connections it held and the client sees it, as it would in production; a new connection
skips an instance that refuses it.
"""

import asyncio
import itertools
import sys

CONNECT_TIMEOUT = 2.0


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def serve(port: int, backends: list[int]) -> None:
    turns = itertools.cycle(backends)

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        for _ in backends:
            backend = next(turns)
            try:
                backend_r, backend_w = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", backend), CONNECT_TIMEOUT
                )
                break
            except (OSError, TimeoutError):
                continue
        else:  # every instance refused: the client sees a closed connection, as with none
            client_w.close()
            return
        try:
            await asyncio.gather(pipe(client_r, backend_w), pipe(backend_r, client_w))
        finally:
            for writer in (backend_w, client_w):
                writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    public, *instances = (int(arg) for arg in sys.argv[1:])
    asyncio.run(serve(public, instances))
