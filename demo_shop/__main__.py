"""``python -m demo_shop [--host H] [--port P]`` runs the shop; ``python -m demo_shop openapi``
prints its OpenAPI document (the contract in docs/shop-api.openapi.json)."""
from __future__ import annotations

import argparse
import os

import uvicorn

from demo_shop.app import create_app, openapi_json


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m demo_shop")
    parser.add_argument("command", nargs="?", choices=["serve", "openapi"], default="serve")
    parser.add_argument("--host", default=os.environ.get("SHOP_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SHOP_PORT", "8100")))
    args = parser.parse_args()
    if args.command == "openapi":
        print(openapi_json(), end="")
        return
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="info", access_log=False)


if __name__ == "__main__":
    main()
