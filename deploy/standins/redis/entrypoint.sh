#!/bin/sh
# As the official image: a redis-server started without a config file listens on every
# address, and its protected mode (on by default) would refuse every client but loopback's.
# Inside a container network the other containers are the clients, so it is turned off
# (arguments given after it, a config file's included, still win).
set -e
if [ "$1" = "redis-server" ]; then
    shift
    exec redis-server --protected-mode no "$@"
fi
exec "$@"
